//go:build unix

// Package treecache keeps unpacked file trees by key (a layer digest, a
// seed of pip wheels) so that later environments link their files instead
// of unpacking them again. It is the one place that knows how an entry is
// filled, checked, linked from and removed; core/layercache (env layers of
// bundles) and plugins/venv (pip seeded without ensurepip) build on it.
//
// Layout under Root: entries/<key>/ is a complete entry, whose manifest
// (entries/<key>/.treecache.json, written last, inside the folder) lists
// every folder, file and symlink with size, mtime, inode and sha256;
// tmp/<key>.* are fills in progress (or left by a killed process);
// locks/<key> is the flock that serialises fills, uses and removal of one
// key across processes.
//
// Invariants: an entry appears only by renaming a finished temp folder
// whose manifest is already inside, so a fill killed at any point leaves no
// entry that looks complete. Cached files are read-only (mode &^ 0222).
// Before an entry is used its files are checked against the manifest: a
// cheap lstat check (size, mtime, inode), and a full sha256 of the files
// that differ; a damaged entry (a file removed, changed, truncated) is
// removed and filled again, never linked.
package treecache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/swcli/swcli/internal/flock"
	"github.com/swcli/swcli/internal/linkfile"
)

// ManifestName is the manifest's file name inside an entry.
const ManifestName = ".treecache.json"

// Item is one path of an entry.
type Item struct {
	Path    string      `json:"path"` // slash-separated, relative to the entry
	Mode    fs.FileMode `json:"mode"` // type bits and the permission it was unpacked with
	Size    int64       `json:"size,omitempty"`
	MTimeNS int64       `json:"mtime_ns,omitempty"`
	Inode   uint64      `json:"ino,omitempty"`
	SHA256  string      `json:"sha256,omitempty"`
	Target  string      `json:"target,omitempty"` // a symlink's target
}

// Manifest is the content list of a complete entry, in path order (a
// folder before what it holds).
type Manifest struct {
	Key   string `json:"key"`
	Items []Item `json:"items"`
	// Requires are the absolute paths the entry was made from (an
	// interpreter, say): when one of them is gone the entry serves nobody,
	// and Prune removes it. A fill names them with WriteRequires.
	Requires []string `json:"requires,omitempty"`
}

// RequiresName is the file a fill writes (WriteRequires) to name the
// entry's Requires; seal moves its lines into the manifest.
const RequiresName = ".treecache-requires"

// WriteRequires, called by a fill on the folder it fills, names the
// absolute paths the entry depends on (see Manifest.Requires).
func WriteRequires(dir string, paths []string) error {
	for _, p := range paths {
		if !filepath.IsAbs(p) || strings.Contains(p, "\n") {
			return fmt.Errorf("tree cache: required path %q is not absolute", p)
		}
	}
	return os.WriteFile(filepath.Join(dir, RequiresName), []byte(strings.Join(paths, "\n")), 0o644)
}

// Size is the bytes of the entry's files.
func (m Manifest) Size() int64 {
	var n int64
	for _, it := range m.Items {
		n += it.Size
	}
	return n
}

// Cache is a tree cache rooted at Root. Logf (may be nil) hears about
// damaged entries and cleanup. The zero Hook does nothing.
type Cache struct {
	Root string
	Logf func(format string, args ...any)
	// Hook, when set, is called at named points of a fill ("filled": the
	// temp tree is written but has no manifest; "manifest": the manifest is
	// written but the entry is not renamed in). Tests kill a process there.
	Hook func(point string)
}

var keyRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$`)

// KeyError says a key cannot name an entry.
type KeyError struct{ Key string }

func (e *KeyError) Error() string {
	return fmt.Sprintf("cache key %q is not allowed (letters, digits, '.', '_', '-'; at most 201)", e.Key)
}

// Key makes a key from any string (a digest "sha256:abc" becomes
// "sha256-abc").
func Key(s string) string { return strings.ReplaceAll(s, ":", "-") }

func (c *Cache) dir(parts ...string) string {
	return filepath.Join(append([]string{c.Root}, parts...)...)
}

// EntryDir is where the entry of key lives when it is complete.
func (c *Cache) EntryDir(key string) string { return c.dir("entries", key) }

func (c *Cache) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

// lock takes the lock of key.
func (c *Cache) lock(ctx context.Context, key string) (func(), error) {
	if !keyRE.MatchString(key) {
		return nil, &KeyError{Key: key}
	}
	if err := os.MkdirAll(c.dir("locks"), 0o755); err != nil {
		return nil, fmt.Errorf("tree cache %s: %w", c.Root, err)
	}
	f, err := os.OpenFile(c.dir("locks", key), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("tree cache %s: %w", c.Root, err)
	}
	unlock, err := flock.Lock(ctx, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() { unlock(); f.Close() }, nil
}

// Use runs use with the complete, checked entry of key, filling it first
// with fill (which writes the tree into the empty folder it is given) when
// it is missing or damaged. filled says whether this call filled it. The
// key's lock is held throughout, so a concurrent Use of the same key waits
// and then finds the entry complete, and Remove cannot take the entry away
// while use links from it.
func (c *Cache) Use(ctx context.Context, key string, fill func(dir string) error, use func(dir string, m Manifest, filled bool) error) error {
	unlock, err := c.lock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := c.check(key)
	filled := false
	if err != nil {
		if !errors.Is(err, errNoEntry) {
			c.logf("tree cache entry %s is damaged (%v); unpacking it again", key, err)
			if err := c.removeLocked(key); err != nil {
				return err
			}
		}
		if m, err = c.fill(key, fill); err != nil {
			return err
		}
		filled = true
	}
	return use(c.EntryDir(key), m, filled)
}

// Has tells whether key has an entry that looks complete (no check of its
// files).
func (c *Cache) Has(key string) bool {
	_, err := c.readManifest(key)
	return err == nil
}

func (c *Cache) readManifest(key string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(c.EntryDir(key), ManifestName))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Key != key {
		return m, fmt.Errorf("manifest of %s does not parse or names another key", key)
	}
	return m, nil
}

// Verify checks the entry of key against its manifest with a full sha256 of
// every file (no lstat shortcut); nil means it is intact.
func (c *Cache) Verify(ctx context.Context, key string) error {
	unlock, err := c.lock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	_, err = c.checkFiles(key, true)
	return err
}

var errNoEntry = errors.New("no complete entry")

// check reads the manifest of key and checks every item; errNoEntry when
// there is no complete entry.
func (c *Cache) check(key string) (Manifest, error) { return c.checkFiles(key, false) }

func (c *Cache) checkFiles(key string, full bool) (Manifest, error) {
	m, err := c.readManifest(key)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return m, errNoEntry
		}
		return m, err
	}
	root := c.EntryDir(key)
	// Each check is an lstat (a hash only when it differs): run by several
	// goroutines, as LinkTree places files, the first failure wins.
	return m, parallel(len(m.Items), func(i int) error { return checkItem(root, m.Items[i], full) })
}

func checkItem(root string, it Item, full bool) error {
	p := filepath.Join(root, filepath.FromSlash(it.Path))
	st, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("%s: %w", it.Path, err)
	}
	if st.Mode().Type() != it.Mode.Type() {
		return fmt.Errorf("%s: is a %v, the manifest says %v", it.Path, st.Mode().Type(), it.Mode.Type())
	}
	switch {
	case it.Mode.IsRegular():
		if !full && st.Size() == it.Size && st.ModTime().UnixNano() == it.MTimeNS && inode(st) == it.Inode {
			return nil
		}
		sum, err := HashFile(p)
		if err != nil {
			return fmt.Errorf("%s: %w", it.Path, err)
		}
		if sum != it.SHA256 {
			return fmt.Errorf("%s: content changed (size %d, manifest %d)", it.Path, st.Size(), it.Size)
		}
	case it.Mode.Type() == fs.ModeSymlink:
		t, err := os.Readlink(p)
		if err != nil || t != it.Target {
			return fmt.Errorf("%s: symlink target changed", it.Path)
		}
	}
	return nil
}

// parallel runs fn(0..n-1) on up to 8 goroutines (one for small n) and
// returns the first error; after one, the rest are skipped.
func parallel(n int, fn func(i int) error) error {
	const workers = 8
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		failed   atomic.Bool
	)
	next := make(chan int)
	for range min(workers, max(1, n/64)) {
		wg.Go(func() {
			for i := range next {
				if failed.Load() {
					continue
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					failed.Store(true)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return firstErr
}

// fill writes the entry of key: into a temp folder, then the manifest,
// then a rename. The caller holds the lock.
func (c *Cache) fill(key string, fill func(dir string) error) (Manifest, error) {
	tmpRoot := c.dir("tmp")
	if err := os.MkdirAll(tmpRoot, 0o755); err != nil {
		return Manifest{}, fmt.Errorf("tree cache %s: %w", c.Root, err)
	}
	if err := os.MkdirAll(c.dir("entries"), 0o755); err != nil {
		return Manifest{}, fmt.Errorf("tree cache %s: %w", c.Root, err)
	}
	// Fills of this key left by killed processes: nobody else holds the lock.
	old, _ := filepath.Glob(filepath.Join(tmpRoot, key+".*"))
	for _, o := range old {
		c.logf("tree cache: removing %s, an unfinished fill", o)
		_ = removeTree(o)
	}
	tmp, err := os.MkdirTemp(tmpRoot, key+".")
	if err != nil {
		return Manifest{}, fmt.Errorf("tree cache %s: %w", c.Root, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = removeTree(tmp)
		}
	}()
	if err := fill(tmp); err != nil {
		return Manifest{}, err
	}
	c.hook("filled")
	m, err := seal(tmp, key)
	if err != nil {
		return Manifest{}, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return Manifest{}, err
	}
	mp := filepath.Join(tmp, ManifestName)
	if err := writeSynced(mp, b); err != nil {
		return Manifest{}, fmt.Errorf("tree cache %s: %w", c.Root, err)
	}
	c.hook("manifest")
	if err := os.Rename(tmp, c.EntryDir(key)); err != nil {
		return Manifest{}, fmt.Errorf("tree cache %s: %w", c.Root, err)
	}
	ok = true
	return m, nil
}

func (c *Cache) hook(point string) {
	if c.Hook != nil {
		c.Hook(point)
	}
}

// seal makes the files of dir read-only and lists them (and moves the
// fill's RequiresName list into the manifest).
func seal(dir, key string) (Manifest, error) {
	m := Manifest{Key: key}
	if b, err := os.ReadFile(filepath.Join(dir, RequiresName)); err == nil {
		for _, r := range strings.Split(string(b), "\n") {
			if r != "" {
				m.Requires = append(m.Requires, r)
			}
		}
		if err := os.Remove(filepath.Join(dir, RequiresName)); err != nil {
			return m, fmt.Errorf("tree cache: seal %s: %w", key, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return m, fmt.Errorf("tree cache: seal %s: %w", key, err)
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		it := Item{Path: filepath.ToSlash(rel)}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		it.Mode = st.Mode().Type() | st.Mode().Perm()
		switch {
		case st.Mode().IsRegular():
			if err := os.Chmod(p, st.Mode().Perm()&^0o222); err != nil {
				return err
			}
			sum, err := HashFile(p)
			if err != nil {
				return err
			}
			it.Size, it.MTimeNS, it.Inode, it.SHA256 = st.Size(), st.ModTime().UnixNano(), inode(st), sum
		case st.Mode().Type() == fs.ModeSymlink:
			if it.Target, err = os.Readlink(p); err != nil {
				return err
			}
		case st.IsDir():
		default:
			return fmt.Errorf("%s: only folders, files and symlinks can be cached", rel)
		}
		m.Items = append(m.Items, it)
		return nil
	})
	if err != nil {
		return m, fmt.Errorf("tree cache: seal %s: %w", key, err)
	}
	sort.SliceStable(m.Items, func(i, j int) bool { return m.Items[i].Path < m.Items[j].Path })
	return m, nil
}

// Placement says how LinkTree places an entry's files.
type Placement struct {
	Linker *linkfile.Linker
	// Skip (may be nil) leaves out items by path; a skipped folder leaves out
	// what it holds.
	Skip func(path string) bool
	// Own (may be nil) names files the environment gets its own copy of,
	// never a link: those that relocation or a tool rewrites.
	Own func(path string) bool
}

// LinkTree places the items of an entry at dir into target (made if
// missing; it may already hold other trees): folders are made (an existing one is merged
// into), symlinks recreated, files linked by p.Linker or copied when p.Own
// says so. A file or symlink already at a path is replaced, as a later
// layer's file replaces an earlier one's in bundle.ExtractLayer. Folders are
// made first, in order; files and symlinks are then placed by several
// goroutines (each a metadata write the filesystem can overlap).
func LinkTree(dir string, m Manifest, target string, p Placement) error {
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	var skipped []string
	var items []Item
	for _, it := range m.Items {
		if p.Skip != nil && p.Skip(it.Path) {
			if it.Mode.IsDir() {
				skipped = append(skipped, it.Path+"/")
			}
			continue
		}
		if under(it.Path, skipped) {
			continue
		}
		if it.Mode.IsDir() {
			dst := filepath.Join(target, filepath.FromSlash(it.Path))
			if err := os.Mkdir(dst, it.Mode.Perm()|0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			continue
		}
		items = append(items, it)
	}
	return parallel(len(items), func(i int) error { return placeItem(dir, target, items[i], p) })
}

func placeItem(dir, target string, it Item, p Placement) error {
	dst := filepath.Join(target, filepath.FromSlash(it.Path))
	src := filepath.Join(dir, filepath.FromSlash(it.Path))
	var place func() error
	switch {
	case it.Mode.Type() == fs.ModeSymlink:
		place = func() error { return os.Symlink(it.Target, dst) }
	case p.Own != nil && p.Own(it.Path):
		place = func() error { return linkfile.CopyFile(src, dst) }
	default:
		place = func() error { return p.Linker.Link(src, dst) }
	}
	err := place()
	if errors.Is(err, fs.ErrExist) {
		if st, serr := os.Lstat(dst); serr == nil && !st.IsDir() {
			if err = os.Remove(dst); err == nil {
				err = place()
			}
		}
	}
	return err
}

func under(p string, prefixes []string) bool {
	for _, s := range prefixes {
		if strings.HasPrefix(p, s) {
			return true
		}
	}
	return false
}

// Entry is one complete entry, for listing.
type Entry struct {
	Key  string
	Size int64
	// Missing is the first of the entry's Requires that no longer exists
	// ("" when all do).
	Missing string
}

// Entries lists the entries that look complete, by key.
func (c *Cache) Entries() ([]Entry, error) {
	ents, err := os.ReadDir(c.dir("entries"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, e := range ents {
		m, err := c.readManifest(e.Name())
		if err != nil {
			out = append(out, Entry{Key: e.Name()})
			continue
		}
		out = append(out, Entry{Key: e.Name(), Size: m.Size(), Missing: missing(m.Requires)})
	}
	return out, nil
}

// missing is the first of paths that does not exist, or "".
func missing(paths []string) string {
	for _, p := range paths {
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			return p
		}
	}
	return ""
}

// Prune removes the entries one of whose Requires no longer exists (with
// dryRun, none) and returns them.
func (c *Cache) Prune(ctx context.Context, dryRun bool) ([]Entry, error) {
	ents, err := c.Entries()
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, e := range ents {
		if e.Missing == "" {
			continue
		}
		if !dryRun {
			if err := c.Remove(ctx, e.Key); err != nil {
				return out, err
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// Remove removes the entry of key (waiting for its users).
func (c *Cache) Remove(ctx context.Context, key string) error {
	unlock, err := c.lock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	return c.removeLocked(key)
}

// removeLocked moves the entry out of entries/ first (so it stops looking
// complete at once), then deletes it.
func (c *Cache) removeLocked(key string) error {
	if err := os.MkdirAll(c.dir("tmp"), 0o755); err != nil {
		return err
	}
	gone := filepath.Join(c.dir("tmp"), key+".removed")
	_ = removeTree(gone)
	if err := os.Rename(c.EntryDir(key), gone); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("tree cache: remove %s: %w", key, err)
	}
	return removeTree(gone)
}

// removeTree removes a tree whose files may be read-only (folders are
// writable, so os.RemoveAll works).
func removeTree(p string) error { return os.RemoveAll(p) }

// HashFile is the sha256 hex of the file at p.
func HashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func inode(st fs.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Ino
	}
	return 0
}

func writeSynced(p string, b []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
