//go:build unix

// Package treecache keeps unpacked file trees by key (a layer digest, a
// seed of pip wheels) so that later environments link their files instead
// of unpacking them again. It is the one place that knows how an entry is
// filled, checked, linked from and removed; core/layercache (env layers of
// bundles) and plugins/venv (pip seeded without ensurepip) build on it.
//
// Layout under Root: entries/<key>/ is a complete entry, whose manifest
// (entries/<key>/.treecache-2.gob, written last, inside the folder) lists
// every folder, file and symlink with size, mtime, inode and XXH64 (gob,
// not JSON: a restore reads the manifests of every layer, and gob decodes
// 12,000 items in a seventh of JSON's time);
// tmp/<key>.* are fills in progress (or left by a killed process);
// locks/<key> is the flock that serialises fills, uses and removal of one
// key across processes.
//
// Invariants: an entry appears only by renaming a finished temp folder
// whose manifest is already inside, so a fill killed at any point leaves no
// entry that looks complete. Cached files are read-only (mode &^ 0222).
// Every file is checked against the manifest before it is used: a cheap
// stat (size, mtime, inode), and a full XXH64 of the files that differ
// (the entry's own check against accidental change: what goes in was
// checked by sha256 before, as a layer or a download);
// a damaged entry (a file removed, changed, truncated) is removed and
// filled again, never linked. Use checks the whole entry first; Place
// checks each file as it links it (one fstatat on the entry folder's fd
// before each linkat), so a placement reads no file twice.
package treecache

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/swcli/swcli/internal/filehash"
	"github.com/swcli/swcli/internal/flock"
	"github.com/swcli/swcli/internal/linkfile"
)

// ManifestName is the manifest's file name inside an entry. An entry of an
// older format (another name) is no entry: it is removed and filled again.
// (Format 2: content sums are XXH64, not sha256.)
const ManifestName = ".treecache-2.gob"

// Item is one path of an entry.
type Item struct {
	Path    string      `json:"path"` // slash-separated, relative to the entry
	Mode    fs.FileMode `json:"mode"` // type bits and the permission it was unpacked with
	Size    int64       `json:"size,omitempty"`
	MTimeNS int64       `json:"mtime_ns,omitempty"`
	Inode   uint64      `json:"ino,omitempty"`
	XXH64   uint64      `json:"xxh64,omitempty"`  // of a regular file's bytes (filehash.XXH64)
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
		if m, err = c.refill(key, fill, err); err != nil {
			return err
		}
		filled = true
	}
	return use(c.EntryDir(key), m, filled)
}

// Place puts the tree of key into target (LinkTree with p), filling the
// entry first with fill when it is missing. Each file is checked as it is
// linked; when one is damaged the entry is removed, filled again and placed
// again (a file already placed from it is replaced), so a damaged file is
// never linked. The key's lock is held throughout, as in Use. It returns
// the entry's manifest and whether this call filled it.
func (c *Cache) Place(ctx context.Context, key string, fill func(dir string) error, target string, p Placement) (m Manifest, filled bool, err error) {
	unlock, err := c.lock(ctx, key)
	if err != nil {
		return m, false, err
	}
	defer unlock()
	m, err = c.readManifest(key)
	if err != nil {
		if m, err = c.refill(key, fill, err); err != nil {
			return m, false, err
		}
		filled = true
	}
	err = LinkTree(c.EntryDir(key), m, target, p)
	var de *DamageError
	if errors.As(err, &de) && !filled {
		if m, err = c.refill(key, fill, err); err != nil {
			return m, false, err
		}
		filled = true
		err = LinkTree(c.EntryDir(key), m, target, p)
	}
	return m, filled, err
}

// refill removes what is at key's entry (a damaged entry, or one of an
// older format) and fills it again; why is what was wrong with it. The
// caller holds the lock.
func (c *Cache) refill(key string, fill func(dir string) error, why error) (Manifest, error) {
	if !errors.Is(why, errNoEntry) && !errors.Is(why, fs.ErrNotExist) {
		c.logf("tree cache entry %s is damaged (%v); unpacking it again", key, why)
	}
	if err := c.removeLocked(key); err != nil {
		return Manifest{}, err
	}
	return c.fill(key, fill)
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
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&m); err != nil || m.Key != key {
		return Manifest{}, fmt.Errorf("manifest of %s does not parse or names another key", key)
	}
	return m, nil
}

// Verify checks the entry of key against its manifest with a full XXH64 of
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
	return m, parallel(len(m.Items), min(8, max(1, len(m.Items)/64)), func(i int) error { return checkItem(root, m.Items[i], full) })
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
		sum, err := filehash.XXH64(p)
		if err != nil {
			return fmt.Errorf("%s: %w", it.Path, err)
		}
		if sum != it.XXH64 {
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

// parallel runs fn(0..n-1) on workers goroutines and returns the first
// error; after one, the rest are skipped.
func parallel(n, workers int, fn func(i int) error) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		failed   atomic.Bool
	)
	next := make(chan int)
	for range max(1, min(workers, n)) {
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
	spreadTrees(tmpRoot)
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
			_ = os.Remove(sumsPath(tmp))
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
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(m); err != nil {
		return Manifest{}, err
	}
	mp := filepath.Join(tmp, ManifestName)
	// Not synced: neither are the files the fill wrote, and it need not be.
	// A kill leaves the page cache as it was; a power loss may leave a
	// torn manifest (it does not decode: filled again) or files shorter
	// than it says (Place's stat check sees it: filled again). A sync here
	// would flush the whole journal, with every link a concurrent
	// placement made so far.
	if err := writeNew(mp, buf.Bytes()); err != nil {
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
// fill's RequiresName list into the manifest). The walk is serial; the
// per-file work (chmod, and a hash where the fill gave none, see
// WriteSums) runs on several goroutines, as Place's checks do.
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
	sums, err := readSums(dir)
	if err != nil {
		return m, fmt.Errorf("tree cache: seal %s: %w", key, err)
	}
	var files []int // indexes of regular files in m.Items
	var stats []fs.FileInfo
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		it := Item{Path: filepath.ToSlash(rel)}
		if s, ok := sums[it.Path]; ok && d.Type().IsRegular() && s.known() {
			// The fill wrote it read-only and said what it is: no stat.
			it.Mode, it.Size = s.Mode.Perm(), s.Size
			it.MTimeNS, it.Inode, it.XXH64 = s.MTimeNS, s.Inode, s.XXH64
			m.Items = append(m.Items, it)
			return nil
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		it.Mode = st.Mode().Type() | st.Mode().Perm()
		switch {
		case st.Mode().IsRegular():
			it.Size = st.Size()
			files = append(files, len(m.Items))
			stats = append(stats, st)
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
	if err == nil {
		err = parallel(len(files), min(8, max(1, len(files)/64)), func(i int) error {
			return sealFile(dir, &m.Items[files[i]], stats[i], sums)
		})
	}
	if err != nil {
		return m, fmt.Errorf("tree cache: seal %s: %w", key, err)
	}
	sort.SliceStable(m.Items, func(i, j int) bool { return m.Items[i].Path < m.Items[j].Path })
	return m, nil
}

// sealFile makes the regular file it read-only and records its mtime,
// inode and XXH64 (the fill's, when it gave one for this size). st is
// what the walk saw; a file the fill made read-only already (its Sum has
// the mode it is meant to have) needs no chmod and no second look.
func sealFile(dir string, it *Item, st fs.FileInfo, sums map[string]Sum) error {
	s, ok := sums[it.Path]
	if ok && s.Size == it.Size && s.Mode != 0 && it.Mode.Perm() == s.Mode.Perm()&^0o222 {
		it.Mode = it.Mode.Type() | s.Mode.Perm()
		it.MTimeNS, it.Inode, it.XXH64 = st.ModTime().UnixNano(), inode(st), s.XXH64
		return nil
	}
	p := filepath.Join(dir, filepath.FromSlash(it.Path))
	if err := os.Chmod(p, it.Mode.Perm()&^0o222); err != nil {
		return err
	}
	st, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() || st.Size() != it.Size {
		return fmt.Errorf("%s: changed while the entry was sealed", it.Path)
	}
	it.MTimeNS, it.Inode = st.ModTime().UnixNano(), inode(st)
	if ok && s.Size == it.Size {
		it.XXH64 = s.XXH64
		return nil
	}
	it.XXH64, err = filehash.XXH64(p)
	return err
}

// Sum is what a fill knows of a file it wrote: its size and XXH64,
// and, if the fill made it read-only already, the mode it is meant to
// have (with its write bits: what the manifest records and a copy of the
// file gets); Mode 0 says the fill left it writable.
//
// Inode and MTimeNS, when the fill gives them (fstat of the file after its
// last write; Inode 0 says it did not), let the seal take a read-only file
// as the fill says without a stat of it: a file that is not what the
// manifest then says fails the check before it is placed (checkAt), as
// one changed later would.
type Sum struct {
	Size    int64
	XXH64   uint64
	Mode    fs.FileMode
	Inode   uint64
	MTimeNS int64
}

// known tells whether s says all the manifest needs of the regular file
// at that path: a read-only file the fill made and fstat'd.
func (s Sum) known() bool { return s.Inode != 0 && s.Mode != 0 }

// sumsPath is where WriteSums keeps a fill's sums: beside the folder it
// fills, so no file of the entry can pose as them.
func sumsPath(dir string) string { return filepath.Clean(dir) + ".sums" }

// WriteSums, called by a fill on the folder it fills, gives the XXH64 of
// files it wrote (by slash path in the folder), hashed as it wrote them,
// so sealing the entry need not read them back. A file without a sum, or
// whose size differs from its sum's, is hashed as before.
func WriteSums(dir string, sums map[string]Sum) error {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(sums); err != nil {
		return err
	}
	return os.WriteFile(sumsPath(dir), buf.Bytes(), 0o644)
}

// readSums reads and removes what WriteSums left for dir (none: nil).
func readSums(dir string) (map[string]Sum, error) {
	b, err := os.ReadFile(sumsPath(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var sums map[string]Sum
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&sums); err != nil {
		return nil, fmt.Errorf("the fill's sums: %w", err)
	}
	return sums, os.Remove(sumsPath(dir))
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

// DamageError says a file of an entry is not what its manifest says.
type DamageError struct {
	Path string // slash path in the entry
	Why  string
}

func (e *DamageError) Error() string { return e.Path + ": " + e.Why }

// LinkTree places the items of an entry at dir into target (made if
// missing; it may already hold other trees): folders are made (an
// existing one is merged into), symlinks recreated from the manifest,
// files linked by p.Linker or copied when p.Own says so. A file or symlink
// already at a path is replaced, as a later layer's file replaces an
// earlier one's in bundle.ExtractLayer. Each file is checked against the
// manifest just before it is placed (size, mtime, inode; its XXH64 when
// they differ): a *DamageError when it was removed, changed or truncated.
//
// The tree is walked by one goroutine per CPU: a folder's job makes its
// subfolders (mkdirat on the target folder's descriptor), places its
// files (fstatat and linkat on the descriptors of the entry's folder and
// the target's, so no file costs a lookup of the folders above it), and
// then queues the subfolders' jobs; a big folder's files are split into
// chunks, so that one folder does not leave a CPU idle.
func LinkTree(dir string, m Manifest, target string, p Placement) error {
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	folders, err := plan(m, p.Skip)
	if err != nil {
		return err
	}
	const chunk = 128
	jobs := 0
	for _, f := range folders {
		jobs += max(1, (len(f.items)+chunk-1)/chunk)
	}
	// Each job is queued once, after the folder it places into exists; the
	// buffer holds them all, so queueing never blocks a worker.
	queue := make(chan linkJob, jobs)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		failed   atomic.Bool
	)
	push := func(j linkJob) { wg.Add(1); queue <- j }
	run := func(j linkJob) error {
		f := folders[j.folder]
		if !j.first {
			return placeGroup(dir, target, f.rel, j.items, p, func(int) error { return nil })
		}
		for len(j.items) > chunk {
			push(linkJob{folder: j.folder, items: j.items[len(j.items)-chunk:]})
			j.items = j.items[:len(j.items)-chunk]
		}
		err := placeGroup(dir, target, f.rel, j.items, p, func(dfd int) error {
			for _, c := range f.children {
				sub := folders[c]
				if err := unix.Mkdirat(dfd, path.Base(sub.rel), uint32(sub.perm|0o700)); err != nil && !errors.Is(err, unix.EEXIST) {
					return &os.PathError{Op: "mkdir", Path: filepath.Join(target, sub.rel), Err: err}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, c := range f.children {
			push(linkJob{folder: c, items: folders[c].items, first: true})
		}
		return nil
	}
	push(linkJob{folder: 0, items: folders[0].items, first: true})
	for range runtime.NumCPU() {
		go func() {
			for j := range queue {
				if !failed.Load() {
					if err := run(j); err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						failed.Store(true)
					}
				}
				wg.Done()
			}
		}()
	}
	wg.Wait()
	close(queue)
	return firstErr
}

// linkJob places items (some or all of the files and symlinks of one
// folder); the folder's first job also makes its subfolders and then
// queues their jobs.
type linkJob struct {
	folder int
	items  []Item
	first  bool
}

// folderPlan is one folder of an entry to place: its slash path ("" is
// the top), permission, files and symlinks, and subfolders (indexes).
type folderPlan struct {
	rel      string
	perm     fs.FileMode
	items    []Item
	children []int
}

// plan groups the manifest's items by folder, leaving out what skip names
// (a skipped folder with all it holds).
func plan(m Manifest, skip func(string) bool) ([]folderPlan, error) {
	var skipped []string
	index := map[string]int{"": 0}
	folders := []folderPlan{{rel: ""}}
	for _, it := range m.Items {
		if skip != nil && skip(it.Path) {
			if it.Mode.IsDir() {
				skipped = append(skipped, it.Path+"/")
			}
			continue
		}
		if under(it.Path, skipped) {
			continue
		}
		parent := path.Dir(it.Path)
		if parent == "." {
			parent = ""
		}
		pi, ok := index[parent]
		if !ok {
			return nil, &DamageError{Path: it.Path, Why: "the manifest lists no folder " + parent + " before it"}
		}
		if it.Mode.IsDir() {
			index[it.Path] = len(folders)
			folders[pi].children = append(folders[pi].children, len(folders))
			folders = append(folders, folderPlan{rel: it.Path, perm: it.Mode.Perm()})
			continue
		}
		folders[pi].items = append(folders[pi].items, it)
	}
	return folders, nil
}

func openFolder(root, rel string) (int, error) {
	return unix.Open(filepath.Join(root, filepath.FromSlash(rel)), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// placeGroup places items, all in folder rel, from the entry at dir into
// target; before runs first with the target folder's descriptor.
func placeGroup(dir, target, rel string, items []Item, p Placement, before func(dfd int) error) error {
	dfd, err := openFolder(target, rel)
	if err != nil {
		return &os.PathError{Op: "open", Path: filepath.Join(target, rel), Err: err}
	}
	defer unix.Close(dfd)
	if err := before(dfd); err != nil {
		return err
	}
	if len(items) == 0 {
		return nil
	}
	sfd, err := openFolder(dir, rel)
	if err != nil {
		return &DamageError{Path: rel, Why: "folder: " + err.Error()}
	}
	defer unix.Close(sfd)
	var st unix.Stat_t
	for _, it := range items {
		name := path.Base(it.Path)
		var place func() error
		switch {
		case it.Mode.Type() == fs.ModeSymlink:
			place = func() error { return unix.Symlinkat(it.Target, dfd, name) }
		default:
			if err := checkAt(dir, sfd, name, it, &st); err != nil {
				return err
			}
			if p.Own != nil && p.Own(it.Path) {
				place = func() error { return linkfile.CopyAt(sfd, name, dfd, name, &st) }
			} else {
				place = func() error { return p.Linker.LinkAt(sfd, name, dfd, name, &st) }
			}
		}
		err := place()
		if errors.Is(err, unix.EEXIST) {
			var dst unix.Stat_t
			if unix.Fstatat(dfd, name, &dst, unix.AT_SYMLINK_NOFOLLOW) == nil && dst.Mode&unix.S_IFMT != unix.S_IFDIR {
				if err = unix.Unlinkat(dfd, name, 0); err == nil {
					err = place()
				}
			}
		}
		if err != nil {
			return fmt.Errorf("place %s in %s: %w", it.Path, target, err)
		}
	}
	return nil
}

// checkAt lstats the file name of the entry folder sfd into st and checks
// it against it (see checkItem).
func checkAt(dir string, sfd int, name string, it Item, st *unix.Stat_t) error {
	if err := unix.Fstatat(sfd, name, st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &DamageError{Path: it.Path, Why: err.Error()}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return &DamageError{Path: it.Path, Why: "is no longer a regular file"}
	}
	if st.Size == it.Size && st.Mtim.Nano() == it.MTimeNS && st.Ino == it.Inode {
		return nil
	}
	sum, err := filehash.XXH64(filepath.Join(dir, filepath.FromSlash(it.Path)))
	if err != nil {
		return &DamageError{Path: it.Path, Why: err.Error()}
	}
	if sum != it.XXH64 {
		return &DamageError{Path: it.Path, Why: fmt.Sprintf("content changed (size %d, manifest %d)", st.Size, it.Size)}
	}
	return nil
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

func inode(st fs.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Ino
	}
	return 0
}

// writeNew writes b to a new file p (read-only, as every cached file).
func writeNew(p string, b []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
