package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// FS is the filesystem Store: the value of a key is the file root/key (the
// key's slashes become folders), so a store can be read with ls and cat.
//
// How it keeps the contract:
//
//   - Put writes to a temporary file in root/.tmp (the same filesystem),
//     fsyncs it and renames it into place, then fsyncs the folder. A reader
//     holding the old file keeps reading the old bytes; a failed Put leaves
//     only a temporary file, which is removed (or cleaned up by a later
//     NewFS when the process died).
//   - Durability per boot (a store opened Deferred; the default is SYNCED):
//     a key whose value can be checked later (the Checker the key's owner
//     gives: blobs by digest, links and leases by their fixed content) is
//     committed without the file and folder fsync, after this boot's marker
//     root/.unsynced/<boot> is durable; every other key (the commit points:
//     records, tags, counters) stays synced. Until the machine goes down
//     the page cache is the truth; a Deferred open in a later boot that
//     finds another boot's marker verifies every checkable key committed
//     since, deletes the damaged ones (a later write puts them back) and
//     syncs the rest before it serves (fs_durability.go).
//   - Every change of a key (Put, Ingest, Delete) renames or unlinks under an
//     exclusive flock on one of 256 lock files in root/.locks, chosen by a
//     hash of the key. A conditional Put checks its precondition and renames
//     under that lock, so it is atomic against writers in other processes on
//     the same machine (and on filesystems where flock is shared).
//   - ETag: the hex sha256 of the content for values under 64 KiB (records,
//     tags, counters: what conditional puts are used on); for larger values
//     "size-mtimeNanos-inode" (decimal). Every commit gives the file a fresh
//     inode (a new temporary file) and sets its mtime to the commit time with
//     nanosecond precision, so the ETag changes whenever the content
//     changes, and a Stat (a blob existence check) never reads more than
//     64 KiB. List does not fill ETag (that would read every small file);
//     use Stat.
//   - Delete removes the file and then, best effort, the folders it leaves
//     empty (never root).
//   - The one exception to "never changed in place": a key grown by Append
//     (the Appender capability, for upload sessions) is written in place,
//     under an flock on its own file, and leaves by Seal (a rename, as a
//     commit) or Delete (fs_append.go).
//
// Limits of a filesystem: a key cannot also be a folder of other keys ("a"
// and "a/b" cannot both exist); such a Put fails with *InvalidKeyError. Keys
// whose first segment is ".tmp", ".locks" or ".unsynced" are reserved for
// the store.
type FS struct {
	root  string
	tmp   string
	locks string
	durability
}

var (
	_ Store     = (*FS)(nil)
	_ Ingester  = (*FS)(nil)
	_ TempDirer = (*FS)(nil)
)

const (
	fsTmpDir     = ".tmp"
	fsLockDir    = ".locks"
	fsLockShards = 256
	// values smaller than this get a content-hash ETag
	fsHashETagLimit = 64 << 10
	// NewFS removes temporary files older than this
	fsStaleTemp = 24 * time.Hour
)

// NewFS opens the filesystem store at root, creating the folder if needed:
// SYNCED unless opts say Deferred. A Deferred store first checks what an
// earlier boot left unsynced (see Deferred; a failure is *RecoveryError).
func NewFS(root string, opts ...FSOption) (*FS, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("fs store: %w", err)
	}
	s := &FS{root: abs, tmp: filepath.Join(abs, fsTmpDir), locks: filepath.Join(abs, fsLockDir)}
	s.boot = machineBoot()
	for _, o := range opts {
		o(s)
	}
	for _, d := range []string{s.root, s.tmp, s.locks} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("fs store: %w", err)
		}
	}
	s.cleanTemp(time.Now().Add(-fsStaleTemp))
	if s.DefersSync() {
		if err := s.recoverBoots(context.Background()); err != nil {
			return nil, &RecoveryError{Root: s.root, Err: err}
		}
		if err := s.renewMarker(context.Background()); err != nil {
			return nil, fmt.Errorf("fs store %s: renew the unsynced marker: %w", s.root, err)
		}
	}
	return s, nil
}

// Root returns the absolute folder of the store.
func (s *FS) Root() string { return s.root }

// TempDir returns a folder on the store's filesystem for staging files that
// are then ingested (see TempDirer).
func (s *FS) TempDir() string { return s.tmp }

func (s *FS) String() string { return "fs:" + s.root }

// cleanTemp removes temporary files left by processes that died.
func (s *FS) cleanTemp(before time.Time) {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(before) {
			_ = os.RemoveAll(filepath.Join(s.tmp, e.Name()))
		}
	}
}

func fsReserved(segment string) bool {
	return segment == fsTmpDir || segment == fsLockDir || segment == fsUnsyncedDir
}

func firstSegment(key string) string {
	if i := strings.IndexByte(key, '/'); i >= 0 {
		return key[:i]
	}
	return key
}

func (s *FS) checkKey(key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if seg := firstSegment(key); fsReserved(seg) {
		return &InvalidKeyError{Key: key, Reason: fmt.Sprintf("%q is reserved by the filesystem store", seg)}
	}
	return nil
}

func (s *FS) path(key string) string { return filepath.Join(s.root, filepath.FromSlash(key)) }

// notExist is true for errors that mean "no such key": the file is missing,
// or a folder on its path is a file.
func notExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func conflictError(key string) error {
	return &InvalidKeyError{Key: key, Reason: "conflicts with another key: the filesystem store cannot hold both a key and keys under it"}
}

// Put implements Store.
func (s *FS) Put(ctx context.Context, key string, r io.Reader, opts PutOptions) error {
	if err := s.checkKey(key); err != nil {
		return err
	}
	if opts.IfNoneMatch && opts.IfMatch != "" {
		return fmt.Errorf("fs store: put %s: IfNoneMatch and IfMatch cannot be combined", key)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	synced := !s.deferred(key)
	tmp, err := s.writeTemp(ctx, r, synced)
	if err != nil {
		return fmt.Errorf("fs store: put %s: %w", key, err)
	}
	if err := s.commit(key, tmp, opts, synced); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// writeTemp copies r into a new temporary file (synced if synced) and
// returns its path.
func (s *FS) writeTemp(ctx context.Context, r io.Reader, synced bool) (string, error) {
	return s.fillTemp(synced, func(f *os.File) error {
		buf := copyBuffers.Get().(*[]byte)
		defer copyBuffers.Put(buf)
		_, err := io.CopyBuffer(struct{ io.Writer }{f}, ctxReader{ctx, r}, *buf)
		return err
	})
}

// copyBuffers are writeTemp's 1 MiB copy buffers: most Puts are records of
// a few bytes, which should not each allocate (and clear) a megabyte.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// fillTemp creates a temporary file, lets fill write it, then makes it
// readable, syncs it (if synced) and returns its path; on any error the
// file is removed.
func (s *FS) fillTemp(synced bool, fill func(f *os.File) error) (string, error) {
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return "", err
	}
	name := f.Name()
	err = fill(f)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil && synced {
		err = s.syncFile(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(name)
		return "", err
	}
	return name, nil
}

// commit renames src to key's file under the key's lock, after checking the
// precondition; synced, it then fsyncs the folder (src is synced already),
// else it holds the renew lock shared and makes sure this boot's marker is
// durable first (see Deferred and renewMarker). A
// rename across filesystems returns the *os.LinkError with EXDEV, so
// Ingest can fall back to copying.
func (s *FS) commit(key, src string, opts PutOptions, synced bool) error {
	dst := s.path(key)
	dir := filepath.Dir(dst)
	if err := s.mkdir(key, dir); err != nil {
		return err
	}
	if !synced {
		release, err := s.beginUnsynced()
		if err != nil {
			return fmt.Errorf("fs store: put %s: %w", key, err)
		}
		defer release()
	}
	unlock, err := s.lock(key)
	if err != nil {
		return fmt.Errorf("fs store: put %s: %w", key, err)
	}
	err = s.commitLocked(key, src, dst, dir, opts)
	unlock()
	if err == nil && synced {
		_ = s.syncDir(dir) // the value is durable; only its name may wait for the journal
	}
	return err
}

func (s *FS) commitLocked(key, src, dst, dir string, opts PutOptions) error {
	switch {
	case opts.IfNoneMatch:
		fi, err := os.Stat(dst)
		if err == nil {
			if fi.IsDir() {
				return conflictError(key)
			}
			return &PreconditionError{Key: key}
		}
		if !notExist(err) {
			return fmt.Errorf("fs store: put %s: %w", key, err)
		}
	case opts.IfMatch != "":
		info, err := s.stat(key)
		var nf *NotFoundError
		if errors.As(err, &nf) {
			return &PreconditionError{Key: key}
		}
		if err != nil {
			return err
		}
		if info.ETag != opts.IfMatch {
			return &PreconditionError{Key: key}
		}
	}
	// A fresh mtime with full precision: part of the ETag of large values.
	now := time.Now()
	if err := os.Chtimes(src, now, now); err != nil {
		return fmt.Errorf("fs store: put %s: %w", key, err)
	}
	for attempt := 0; ; attempt++ {
		err := os.Rename(src, dst)
		if err == nil {
			return nil
		}
		switch {
		case errors.Is(err, syscall.EXDEV):
			return err
		case errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.ENOTEMPTY),
			errors.Is(err, syscall.EEXIST), errors.Is(err, syscall.ENOTDIR):
			return conflictError(key)
		case errors.Is(err, fs.ErrNotExist) && attempt < 10:
			// A concurrent Delete pruned the folder: make it again.
			if err := s.mkdir(key, dir); err != nil {
				return err
			}
			continue
		}
		return fmt.Errorf("fs store: put %s: %w", key, err)
	}
}

func (s *FS) mkdir(key, dir string) error {
	for attempt := 0; ; attempt++ {
		err := os.MkdirAll(dir, 0o755)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.ENOTDIR):
			return conflictError(key) // a key's file stands where a folder must
		case (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EEXIST)) && attempt < 10:
			// A concurrent Delete pruned a folder MkdirAll had just made or
			// seen (it was empty for that instant): ENOENT from the Mkdir
			// below it, or EEXIST when the folder went between MkdirAll's
			// Mkdir and its Lstat. Make the path again.
			continue
		case errors.Is(err, syscall.EEXIST):
			return conflictError(key)
		}
		return fmt.Errorf("fs store: put %s: %w", key, err)
	}
}

// lock takes the exclusive lock that guards changes to key.
func (s *FS) lock(key string) (unlock func(), err error) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return s.lockName(context.Background(), fmt.Sprintf("%02x", h.Sum32()%fsLockShards))
}

// lockName takes the exclusive lock of the lock file name in root/.locks.
func (s *FS) lockName(ctx context.Context, name string) (unlock func(), err error) {
	return s.lockWith(name, func(f *os.File) (func(), error) { return lockFileCtx(ctx, f) })
}

// lockWith opens the lock file name in root/.locks and locks it with take;
// unlock also closes it.
func (s *FS) lockWith(name string, take func(*os.File) (func(), error)) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(s.locks, name), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	release, err := take(f)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		release()
		_ = f.Close()
	}, nil
}

// Ingest implements Ingester: it renames localPath to key's file, or, when
// localPath is on another filesystem, copies it in and removes it.
func (s *FS) Ingest(ctx context.Context, key, localPath string) error {
	if err := s.checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.Open(localPath)
	if err != nil {
		return fmt.Errorf("fs store: ingest %s: %w", key, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", localPath)
	}
	if err == nil && fi.Mode().Perm() != 0o644 {
		// (only when needed: a chmod dirties the inode, which the fsync
		// then has to commit even when the data is on disk already)
		err = f.Chmod(0o644)
	}
	synced := !s.deferred(key)
	if err == nil && synced {
		err = s.syncFile(f)
	}
	_ = f.Close()
	if err != nil {
		return fmt.Errorf("fs store: ingest %s: %w", key, err)
	}
	err = s.commit(key, localPath, PutOptions{}, synced)
	if !errors.Is(err, syscall.EXDEV) {
		return err
	}
	// Another filesystem: copy into our temp folder, then rename.
	src, err := os.Open(localPath)
	if err != nil {
		return fmt.Errorf("fs store: ingest %s: %w", key, err)
	}
	tmp, err := s.writeTemp(ctx, src, synced)
	_ = src.Close()
	if err != nil {
		return fmt.Errorf("fs store: ingest %s: %w", key, err)
	}
	if err := s.commit(key, tmp, PutOptions{}, synced); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	_ = os.Remove(localPath)
	return nil
}

// Get implements Store.
func (s *FS) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	rc, _, err := s.get(ctx, key, offset, length, false)
	return rc, err
}

// GetWithInfo implements InfoGetter: the Info is that of the file opened,
// which a concurrent Put replaces by a rename and never changes in place.
func (s *FS) GetWithInfo(ctx context.Context, key string, offset, length int64) (io.ReadCloser, Info, error) {
	return s.get(ctx, key, offset, length, true)
}

func (s *FS) get(ctx context.Context, key string, offset, length int64, withInfo bool) (io.ReadCloser, Info, error) {
	if err := s.checkKey(key); err != nil {
		return nil, Info{}, err
	}
	if offset < 0 {
		return nil, Info{}, fmt.Errorf("fs store: get %s: negative offset %d", key, offset)
	}
	if err := ctx.Err(); err != nil {
		return nil, Info{}, err
	}
	f, err := os.Open(s.path(key))
	if notExist(err) {
		return nil, Info{}, &NotFoundError{Key: key}
	}
	if err != nil {
		return nil, Info{}, fmt.Errorf("fs store: get %s: %w", key, err)
	}
	fail := func(err error) (io.ReadCloser, Info, error) {
		_ = f.Close()
		return nil, Info{}, fmt.Errorf("fs store: get %s: %w", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, Info{}, &NotFoundError{Key: key}
	}
	var info Info
	if withInfo {
		etag, err := fileETag(f, fi) // may read the file: the Seek below rewinds
		if err != nil {
			return fail(err)
		}
		info = Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime(), ETag: etag}
	}
	if offset >= fi.Size() || length == 0 {
		_ = f.Close()
		return io.NopCloser(strings.NewReader("")), info, nil
	}
	if offset > 0 || withInfo {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			return fail(err)
		}
	}
	if length < 0 {
		return f, info, nil
	}
	return &sectionReader{Reader: io.LimitReader(f, length), f: f}, info, nil
}

type sectionReader struct {
	io.Reader
	f *os.File
}

func (r *sectionReader) Close() error { return r.f.Close() }

// Stat implements Store.
func (s *FS) Stat(ctx context.Context, key string) (Info, error) {
	if err := s.checkKey(key); err != nil {
		return Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	return s.stat(key)
}

func (s *FS) stat(key string) (Info, error) {
	f, err := os.Open(s.path(key))
	if notExist(err) {
		return Info{}, &NotFoundError{Key: key}
	}
	if err != nil {
		return Info{}, fmt.Errorf("fs store: stat %s: %w", key, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Info{}, fmt.Errorf("fs store: stat %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		return Info{}, &NotFoundError{Key: key}
	}
	etag, err := fileETag(f, fi)
	if err != nil {
		return Info{}, fmt.Errorf("fs store: stat %s: %w", key, err)
	}
	return Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime(), ETag: etag}, nil
}

// fileETag: see the FS documentation.
func fileETag(f *os.File, fi fs.FileInfo) (string, error) {
	if fi.Size() < fsHashETagLimit {
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	return fmt.Sprintf("%d-%d-%d", fi.Size(), fi.ModTime().UnixNano(), fileID(fi)), nil
}

// Delete implements Store.
func (s *FS) Delete(ctx context.Context, key string) error {
	if err := s.checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := s.path(key)
	unlock, err := s.lock(key)
	if err != nil {
		return fmt.Errorf("fs store: delete %s: %w", key, err)
	}
	fi, err := os.Lstat(p)
	if err == nil && !fi.IsDir() {
		err = os.Remove(p)
	}
	unlock()
	if err != nil && !notExist(err) {
		return fmt.Errorf("fs store: delete %s: %w", key, err)
	}
	if fi != nil && fi.IsDir() {
		return nil // a folder of other keys, not a key
	}
	// Prune folders left empty; a concurrent Put re-creates what it needs.
	for dir := filepath.Dir(p); dir != s.root && strings.HasPrefix(dir, s.root+string(filepath.Separator)); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// List implements Store. Keys come in lexical order: a folder "a" sorts as
// "a/", so "a-b" comes before "a/b" and "a/b" before "a0".
func (s *FS) List(ctx context.Context, prefix string, fn func(Info) error) error {
	if err := ValidatePrefix(prefix); err != nil {
		return err
	}
	dir, partial := "", prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dir, partial = prefix[:i+1], prefix[i+1:]
		if fsReserved(firstSegment(dir)) {
			return nil
		}
	}
	return s.walk(ctx, dir, partial, fn)
}

// Children implements the Children capability with one directory read.
func (s *FS) Children(ctx context.Context, prefix string) ([]string, error) {
	if prefix != "" {
		if !strings.HasSuffix(prefix, "/") {
			return nil, &InvalidKeyError{Key: prefix, Reason: "a folder prefix ends in /"}
		}
		if err := ValidateKey(strings.TrimSuffix(prefix, "/")); err != nil {
			return nil, err
		}
		if fsReserved(firstSegment(prefix)) {
			return nil, nil
		}
	}
	des, err := os.ReadDir(filepath.Join(s.root, filepath.FromSlash(prefix)))
	if err != nil {
		if notExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("fs store: list %s: %w", prefix, err)
	}
	var out []string
	for _, de := range des {
		name := de.Name()
		if (prefix == "" && fsReserved(name)) || validSegment(name, name) != nil {
			continue
		}
		isDir := de.IsDir()
		if de.Type()&fs.ModeSymlink != 0 {
			fi, err := os.Stat(filepath.Join(s.root, filepath.FromSlash(prefix), name))
			isDir = err == nil && fi.IsDir()
		}
		if isDir {
			out = append(out, name)
		}
	}
	sort.Strings(out) // ReadDir sorts by name already; the contract says sorted
	return out, ctx.Err()
}

type fsEntry struct {
	name  string
	sort  string
	isDir bool
	info  fs.FileInfo
}

// walk lists the keys in folder dir ("" or "a/b/") whose names start with
// partial, recursively.
func (s *FS) walk(ctx context.Context, dir, partial string, fn func(Info) error) error {
	full := filepath.Join(s.root, filepath.FromSlash(dir))
	des, err := os.ReadDir(full)
	if err != nil {
		if notExist(err) {
			return nil // pruned meanwhile, or never there
		}
		return fmt.Errorf("fs store: list %s: %w", dir, err)
	}
	entries := make([]fsEntry, 0, len(des))
	for _, de := range des {
		name := de.Name()
		if !strings.HasPrefix(name, partial) || (dir == "" && fsReserved(name)) ||
			validSegment(name, name) != nil {
			continue
		}
		var fi fs.FileInfo
		if de.Type()&fs.ModeSymlink != 0 {
			fi, err = os.Stat(filepath.Join(full, name))
		} else {
			fi, err = de.Info()
		}
		if err != nil {
			if notExist(err) {
				continue // deleted meanwhile
			}
			return fmt.Errorf("fs store: list %s%s: %w", dir, name, err)
		}
		switch {
		case fi.IsDir():
			entries = append(entries, fsEntry{name: name, sort: name + "/", isDir: true})
		case fi.Mode().IsRegular():
			entries = append(entries, fsEntry{name: name, sort: name, info: fi})
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].sort < entries[j].sort })
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.isDir {
			if err := s.walk(ctx, dir+e.name+"/", "", fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(Info{Key: dir + e.name, Size: e.info.Size(), ModTime: e.info.ModTime()}); err != nil {
			return err
		}
	}
	return nil
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
