package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Checker names the keys whose value can be checked after a power loss:
// for such a key it returns ok and a verify that reads a value and says
// whether it is whole and right (a blob hashes to its digest, a link holds
// what every link holds). The store owns the bytes; whoever gives keys
// their meaning (core/registry.Checkable) supplies the Checker. A key it
// does not name is a commit point (a version record, a tag, a counter) and
// is always committed synced.
type Checker func(key string) (verify func(io.Reader) error, ok bool)

// FSOption changes how NewFS opens a store.
type FSOption func(*FS)

// Deferred opens the store DEFERRED: a commit of a key that check names
// does not wait for the disk (no file or folder fsync; the temp+rename
// stays, so readers in this boot see the whole new value or the old one).
// Before the first such commit of a boot, a marker ROOT/.unsynced/<boot>
// is made durable; a store opened Deferred in a later boot that finds a
// marker of another boot checks every key check names committed since that
// marker, removes the damaged ones and syncs the rest before it serves
// (recoverBoots). An open in the same boot whose marker is older than a
// few minutes syncs the filesystem once and moves the marker to now
// (renewMarker), so recovery reads only what came after. Where the boot
// cannot be told (no Linux boot_id), every
// commit stays synced. The default, SYNCED, fsyncs every commit (the
// server keeps it: a store several machines share has no one boot).
func Deferred(check Checker) FSOption { return func(s *FS) { s.check = check } }

// withBoot sets the boot id the store believes it runs in: for tests only
// (the export in export_test.go), so no user can set it by mistake.
func withBoot(id string) FSOption { return func(s *FS) { s.boot = id } }

const (
	// fsUnsyncedDir holds one marker per boot that committed unsynced.
	fsUnsyncedDir = ".unsynced"
	// fsRecoveryLock (in root/.locks) is held by the recovery of a boot's
	// marker, so two opens in a new boot recover once.
	fsRecoveryLock = "unsynced"
	// fsRenewLock (in root/.locks) is held shared by every unsynced commit
	// and exclusively by renewMarker.
	fsRenewLock = "unsynced-renew"
	// fsRenewAfter: an open of a Deferred store whose boot's marker is
	// older than this syncs the filesystem and moves the marker to now
	// (renewMarker), so a later boot checks at most what came since.
	fsRenewAfter = 5 * time.Minute
	// fsClockMargin: a key whose mtime is at most this much older than a
	// marker is still checked (the clock may step back a little during a
	// boot; commitLocked also pulls the marker back when it sees that).
	fsClockMargin = 10 * time.Minute
)

// durability is the DEFERRED state of one FS value.
type durability struct {
	check  Checker
	boot   string
	syncs  atomic.Int64 // file and folder fsyncs (a test seam: Syncs)
	mu     sync.Mutex   // makes the marker
	marked atomic.Int64 // UnixNano mtime of this boot's marker once known durable; 0 before
}

// DefersSync tells whether the store was opened Deferred and can defer
// here (the boot is known): callers that would only hurry data to the disk
// for a commit's fsync (internal/writeback) need not.
func (s *FS) DefersSync() bool { return s.check != nil && s.boot != "" }

// deferred tells whether key's commit skips the fsyncs.
func (s *FS) deferred(key string) bool {
	if s.check == nil || s.boot == "" {
		return false
	}
	_, ok := s.check(key)
	return ok
}

func (s *FS) markerDir() string { return filepath.Join(s.root, fsUnsyncedDir) }

// markerName is the marker file of boot id (a boot_id has no slash).
func markerName(boot string) string { return strings.ReplaceAll(boot, "/", "_") }

// markBoot makes this boot's marker durable, once per FS value: later
// commits only compare a clock. Another process of the same boot may make
// it at the same time: each writes its own temporary marker, fsyncs it and
// the folder, and only then renames it to the marker's name, so a marker
// found under that name is durable (a temporary marker a crash leaves
// counts as the marker of its boot: see recoverBoots). When the clock has
// stepped back behind the marker, its mtime is set back, so every unsynced
// commit stays inside the window recovery checks.
func (s *FS) markBoot(now time.Time) error {
	if m := s.marked.Load(); m != 0 && now.UnixNano() > m-int64(fsClockMargin/2) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := filepath.Join(s.markerDir(), markerName(s.boot))
	fi, err := os.Stat(p)
	switch {
	case err == nil && fi.ModTime().After(now):
		// the clock went back: pull the marker back with it
		if err := os.Chtimes(p, now, now); err != nil {
			return fmt.Errorf("fs store: unsynced marker: %w", err)
		}
		if err := s.syncPath(p); err != nil {
			return fmt.Errorf("fs store: unsynced marker: %w", err)
		}
		s.marked.Store(now.UnixNano())
		return nil
	case err == nil:
		s.marked.Store(fi.ModTime().UnixNano())
		return nil
	case !notExist(err):
		return fmt.Errorf("fs store: unsynced marker: %w", err)
	}
	if err := os.MkdirAll(s.markerDir(), 0o755); err != nil {
		return fmt.Errorf("fs store: unsynced marker: %w", err)
	}
	f, err := os.CreateTemp(s.markerDir(), markerName(s.boot)+".tmp-*")
	if err != nil {
		return fmt.Errorf("fs store: unsynced marker: %w", err)
	}
	tmp := f.Name()
	_, err = f.WriteString(s.boot + "\n")
	if err == nil {
		err = s.syncFile(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.syncDir(s.markerDir())
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err == nil {
		fi, err = os.Stat(p)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("fs store: unsynced marker: %w", err)
	}
	s.marked.Store(fi.ModTime().UnixNano())
	return nil
}

// markerBoot is the boot a file in the markers folder stands for: its
// name, without the suffix of a temporary marker.
func markerBoot(name string) string {
	if i := strings.Index(name, ".tmp-"); i >= 0 {
		return name[:i]
	}
	return name
}

// foreignMarkers lists the markers of boots other than this one, with the
// oldest mtime among them.
func (s *FS) foreignMarkers() (names []string, oldest time.Time, err error) {
	des, err := os.ReadDir(s.markerDir())
	if notExist(err) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	for _, de := range des {
		if markerBoot(de.Name()) == markerName(s.boot) {
			continue
		}
		fi, err := de.Info()
		if notExist(err) {
			continue
		}
		if err != nil {
			return nil, time.Time{}, err
		}
		if oldest.IsZero() || fi.ModTime().Before(oldest) {
			oldest = fi.ModTime()
		}
		names = append(names, de.Name())
	}
	return names, oldest, nil
}

// RecoveryError says the check after another boot's unsynced commits
// could not finish; the store was not opened (a later open tries again).
type RecoveryError struct {
	Root string
	Err  error
}

func (e *RecoveryError) Error() string {
	return fmt.Sprintf("fs store %s: checking what an earlier boot left unsynced: %v", e.Root, e.Err)
}

func (e *RecoveryError) Unwrap() error { return e.Err }

// recoverBoots runs once per open of a Deferred store, before it serves:
// if another boot left a marker, that boot may have lost unsynced commits
// when the machine went down. Under the recovery lock, every key the
// Checker names whose mtime is not older than the oldest such marker
// (less fsClockMargin; a commit sets mtime to its time) is verified: a
// damaged one (empty, short, wrong bytes) is deleted, as if never written,
// so whoever needs it writes it again; the others stay. Then the
// filesystem is synced (syncfs, else each kept file and folder) and only
// then the markers go, so a crash during recovery recovers again.
//
// Every key visible now that a previous boot wrote was read from the disk
// (the page cache does not outlive a boot), so what recovery sees is what
// survived. Processes of this boot wait at open for the lock, and markers
// of other boots cannot appear meanwhile, so nothing is served unchecked.
func (s *FS) recoverBoots(ctx context.Context) error {
	names, _, err := s.foreignMarkers()
	if err != nil || len(names) == 0 {
		return err
	}
	unlock, err := s.lockName(ctx, fsRecoveryLock)
	if err != nil {
		return err
	}
	defer unlock()
	names, oldest, err := s.foreignMarkers() // another open may have recovered meanwhile
	if err != nil || len(names) == 0 {
		return err
	}
	cutoff := oldest.Add(-fsClockMargin)
	var kept []string
	err = s.List(ctx, "", func(info Info) error {
		verify, ok := s.check(info.Key)
		if !ok || info.ModTime.Before(cutoff) {
			return nil
		}
		good, err := s.verifyKey(info.Key, verify)
		if err != nil {
			return err
		}
		if !good {
			return s.Delete(ctx, info.Key)
		}
		kept = append(kept, info.Key)
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.syncAll(kept); err != nil {
		return err
	}
	for _, n := range names {
		if err := os.Remove(filepath.Join(s.markerDir(), n)); err != nil && !notExist(err) {
			return err
		}
	}
	return s.syncDir(s.markerDir())
}

// verifyKey reads key's file through verify: false when it does not pass
// (or cannot be read: a damaged file is as good as gone).
func (s *FS) verifyKey(key string, verify func(io.Reader) error) (bool, error) {
	f, err := os.Open(s.path(key))
	if notExist(err) {
		return true, nil // deleted meanwhile: nothing to check
	}
	if err != nil {
		return false, nil
	}
	defer f.Close()
	return verify(f) == nil, nil
}

// syncAll makes the kept keys durable: one syncfs of the store's
// filesystem where there is one, else each file and its folder.
func (s *FS) syncAll(keys []string) error {
	if err := s.syncFilesystem(); err == nil {
		return nil
	} else if !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	dirs := map[string]bool{}
	for _, k := range keys {
		p := s.path(k)
		if err := s.syncPath(p); err != nil && !notExist(err) {
			return err
		}
		dirs[filepath.Dir(p)] = true
	}
	for d := range dirs {
		if err := s.syncDir(d); err != nil && !notExist(err) {
			return err
		}
	}
	return nil
}

// syncFile fsyncs f, counted (see Syncs in export_test.go).
func (s *FS) syncFile(f *os.File) error {
	s.syncs.Add(1)
	return f.Sync()
}

// syncPath fsyncs the file or folder at p.
func (s *FS) syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.syncFile(f)
}

// syncDir fsyncs folder dir, so the renames and unlinks in it are durable.
func (s *FS) syncDir(dir string) error { return s.syncPath(dir) }

// syncFilesystem syncs the whole filesystem of the store (syncfs(2)).
func (s *FS) syncFilesystem() error {
	f, err := os.Open(s.root)
	if err != nil {
		return err
	}
	defer f.Close()
	s.syncs.Add(1)
	return syncfs(f)
}

// beginUnsynced starts one unsynced commit: the renew lock held shared
// (holdCommit) until release, and this boot's marker durable (markBoot).
func (s *FS) beginUnsynced() (release func(), err error) {
	release, err = s.holdCommit()
	if err != nil {
		return nil, err
	}
	if err := s.markBoot(time.Now()); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// holdCommit takes the renew lock shared for one unsynced commit, from
// before it sets the key's mtime until after its rename (see renewMarker).
func (s *FS) holdCommit() (release func(), err error) {
	return s.lockWith(fsRenewLock, lockFileShared)
}

// renewMarker bounds what a later boot's recovery must read: when this
// boot's marker is older than fsRenewAfter, it takes the renew lock
// exclusively (no unsynced commit is between setting its mtime and its
// rename), notes the time t0, syncs the filesystem (syncfs) and sets the
// marker's mtime to t0. Every commit renamed before t0 is then durable;
// every later one sets its mtime after the lock is released, so after t0,
// inside the window recovery checks. Where syncfs does not exist nothing
// is renewed (recovery then checks the whole boot).
func (s *FS) renewMarker(ctx context.Context) error {
	p := filepath.Join(s.markerDir(), markerName(s.boot))
	old := func() (bool, error) {
		fi, err := os.Stat(p)
		if notExist(err) {
			return false, nil
		}
		return err == nil && time.Since(fi.ModTime()) >= fsRenewAfter, err
	}
	if due, err := old(); !due || err != nil {
		return err
	}
	unlock, err := s.lockName(ctx, fsRenewLock)
	if err != nil {
		return err
	}
	defer unlock()
	if due, err := old(); !due || err != nil {
		return err // renewed by another open meanwhile
	}
	t0 := time.Now()
	if err := s.syncFilesystem(); errors.Is(err, errors.ErrUnsupported) {
		return nil
	} else if err != nil {
		return err
	}
	if err := os.Chtimes(p, t0, t0); err != nil {
		return err
	}
	if err := s.syncPath(p); err != nil {
		return err
	}
	s.marked.Store(t0.UnixNano())
	return nil
}
