package bundle

import (
	"archive/tar"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
	"github.com/swcli/swcli/internal/directio"
	"github.com/swcli/swcli/internal/writeback"
	"golang.org/x/sys/unix"
)

// PackOptions tune PackLayer.
type PackOptions struct {
	// Rewrite says whether the content of the regular file rel may be given to
	// Transform. Files it does not mark (and every file when it is nil) stream
	// from disk without being held in memory.
	Rewrite func(rel string) bool
	// Transform gets the whole content of a marked file and returns the content
	// to pack and true, or false to pack the file as it is. It is how a caller
	// replaces absolute prefixes in scripts and metadata. It must be
	// deterministic, and safe for concurrent use when given to PackLayers.
	Transform func(rel string, data []byte) ([]byte, bool)
	// RewriteMax, when above zero, replaces Rewrite: every regular file of
	// at most RewriteMax bytes (by the Lstat the layer's scan made) is given
	// to Transform, and Rewrite is not asked. It saves a stat per file.
	RewriteMax int64
	// Stat, when set, may return the Lstat result of the file read for the
	// layer path rel (what Source names, else root/rel) that the caller
	// already has, or nil to have it made. It saves a stat per file when the
	// caller has just walked the tree.
	Stat func(rel string) fs.FileInfo
	// Source, when set, names the file or folder to read for the layer path
	// rel instead of root/rel; "" means root/rel. It is asked for every path
	// and for every parent folder of one, so a layer can hold files from
	// outside root at paths under it (the source tree of an editable
	// install, packed into site-packages). What it names is packed as
	// root/rel would be: a symlink as a symlink, a folder as a folder.
	Source func(rel string) string
}

// lstat returns the Lstat of full, the file read for the layer path rel.
func (o *PackOptions) lstat(rel, full string) (fs.FileInfo, error) {
	if o.Stat != nil {
		if fi := o.Stat(rel); fi != nil {
			return fi, nil
		}
	}
	return os.Lstat(full)
}

// rewrite says whether the file entry e goes through Transform.
func (o *PackOptions) rewrite(e entry) bool {
	if o.Transform == nil {
		return false
	}
	if o.RewriteMax > 0 {
		return e.size <= o.RewriteMax
	}
	return o.Rewrite != nil && o.Rewrite(e.rel)
}

// full is the file to read for the layer path rel.
func (o *PackOptions) full(root, rel string) string {
	if p := o.source(rel); p != "" {
		return p
	}
	return filepath.Join(root, filepath.FromSlash(rel))
}

// source is what Source says of rel: "" for root/rel.
func (o *PackOptions) source(rel string) string {
	if o.Source == nil {
		return ""
	}
	return o.Source(rel)
}

// LayerInfo describes a packed layer.
type LayerInfo struct {
	Digest           digest.Digest // sha256 of the compressed layer
	Size             int64         // bytes of the compressed layer
	UncompressedSize int64         // bytes of the tar (the AnnotationUncompressedSize value)
	Files            int           // tar entries: directories, files and symlinks
}

// LayerJob is one layer for PackLayers: the arguments of PackLayer, and where
// the layer goes. If Writer is nil, the layer is written to a new temporary file
// in Dir (os.TempDir() if empty) whose path is returned; the caller renames it
// into place, so Dir should be on the filesystem of its destination.
type LayerJob struct {
	Root    string
	Paths   []string
	Options PackOptions
	Writer  io.Writer
	Dir     string
	// Writeback starts the writeback of the temporary file to disk as soon
	// as the layer is written: set it when the file will be fsynced (a
	// store that syncs what it commits), so the sync does not wait for all
	// of it. Otherwise leave it off: the early writeback competes for the
	// disk and makes the next small fsync on the filesystem (a version
	// record) wait for the whole layer.
	Writeback bool
}

// LayerResult is the outcome of one LayerJob. Path is the temporary file the
// layer was written to, empty when the job had a Writer.
type LayerResult struct {
	LayerInfo
	Path string
}

// The compression settings are part of the format (LayerFormat): changing
// any of them, or FrameSize, changes every digest, hence every version.
// Frames are compressed with EncodeAll (see frames.go), whose output does
// not depend on the encoder's concurrency.
func newEncoderWith(concurrency int) (*zstd.Encoder, error) {
	return zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithWindowSize(8<<20),
		zstd.WithEncoderConcurrency(concurrency),
		zstd.WithEncoderCRC(true),
		zstd.WithZeroFrames(true),
		zstd.WithAllLitEntropyCompression(false),
		zstd.WithNoEntropyCompression(false),
		zstd.WithLowerEncoderMem(false),
	)
}

// LayerFormat names how layers are written (tar entries as the package
// documentation says, zstd settings, FrameSize, which frames are stored raw
// (encodeFrame)): caches of packed layers keyed on their input include it,
// so a new format is never mixed up with an old one.
const LayerFormat = "tar-zstd3-frames4m-raw"

// bufSize is the size of the buffers of the pool buffers (for extraction
// and .swrt files), and the least memory scratch.whole holds.
const bufSize = 1 << 20

var buffers = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// PackLayer writes to w a layer holding paths, slash-separated paths relative
// to root. A directory in paths adds only the directory's own entry (list its
// content too, for example with WalkFiles); the parents of every path are added
// whether listed or not. Regular files are packed with their content (a file
// with several hard links is packed as a regular file each time), symlinks as
// symlinks with their target as it is; a target must be relative and stay
// under root. Anything else (socket, device, fifo) is refused with a
// *FileError naming it. See the package documentation for what makes the
// output deterministic.
func PackLayer(ctx context.Context, w io.Writer, root string, paths []string, opts PackOptions) (LayerInfo, error) {
	entries, _, err := scan(root, paths, &opts)
	if err != nil {
		return LayerInfo{}, err
	}
	return writeLayer(ctx, w, root, entries, opts, &scratch{})
}

// PackLayers packs several layers at once, parallel at a time (GOMAXPROCS if
// parallel <= 0), largest first, and returns their results in the order of
// jobs. Each layer is the same bytes PackLayer would write. On error, the
// temporary files it made are removed and the first error is returned.
func PackLayers(ctx context.Context, jobs []LayerJob, parallel int) ([]LayerResult, error) {
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	type scanned struct {
		entries []entry
		bytes   int64
	}
	scans := make([]scanned, len(jobs))
	order := make([]int, len(jobs))
	for i := range order {
		order[i] = i
	}
	err := forEach(ctx, parallel, order, func(ctx context.Context, _ *worker, i int) error {
		e, n, err := scan(jobs[i].Root, jobs[i].Paths, &jobs[i].Options)
		scans[i] = scanned{e, n}
		return err
	})
	if err != nil {
		return nil, err
	}
	// Largest first, so a big layer does not start last and finish alone.
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scans[b].bytes, scans[a].bytes) })

	results := make([]LayerResult, len(jobs))
	err = forEach(ctx, parallel, order, func(ctx context.Context, wk *worker, i int) error {
		job := &jobs[i]
		if wk.s == nil {
			wk.s = &scratch{}
		}
		w := job.Writer
		var f *os.File
		var dw *directio.Writer // a large layer's, written around the page cache
		if w == nil {
			var err error
			if f, err = os.CreateTemp(job.Dir, ".layer-*.tmp"); err != nil {
				return err
			}
			results[i].Path = f.Name()
			w = f
			// The store keeps it; nothing reads it back soon (see
			// internal/directio).
			if dw = directio.ForSize(f, 0, scans[i].bytes); dw != nil {
				w = dw
			}
		}
		info, err := writeLayer(ctx, w, job.Root, scans[i].entries, job.Options, wk.s)
		if ferr := dw.Flush(); err == nil {
			err = ferr
		}
		if f != nil && err == nil && job.Writeback && (dw == nil || dw.DirectBytes == 0) {
			// Start writing it back now, while other layers are packed, so
			// that storing it (which syncs it) does not wait for all of it.
			writeback.Start(f, 0, 0)
		}
		if f != nil {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		results[i].LayerInfo = info
		return err
	})
	if err != nil {
		for _, r := range results {
			if r.Path != "" {
				os.Remove(r.Path)
			}
		}
		return nil, err
	}
	return results, nil
}

type worker struct {
	s *scratch
}

// scratch is the memory a packer reuses from file to file: whole for files
// given to Transform.
type scratch struct {
	whole []byte
}

// forEach calls fn for every index in order, parallel at a time, and returns
// the first error (which cancels the context the other calls see).
func forEach(ctx context.Context, parallel int, order []int, fn func(context.Context, *worker, int) error) error {
	parallel = max(1, min(parallel, len(order)))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			wk := &worker{}
			for i := range next {
				if err := fn(ctx, wk, i); err != nil {
					cancel(err)
				}
			}
		})
	}
loop:
	for _, i := range order {
		select {
		case next <- i:
		case <-ctx.Done():
			break loop
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// WalkFiles returns rel (a slash-separated directory relative to root; "" or
// "." for root itself) and everything under it, as sorted slash-separated paths
// relative to root, ready for PackLayer. Symlinks are listed, not followed.
func WalkFiles(root, rel string) ([]string, error) {
	rel = strings.Trim(path.Clean("/"+filepath.ToSlash(rel)), "/")
	var out []string
	base := filepath.Join(root, filepath.FromSlash(rel))
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if r = filepath.ToSlash(r); r != "." {
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

// entry is one tar entry to write.
type entry struct {
	rel  string
	kind byte // tar.TypeReg, tar.TypeDir or tar.TypeSymlink
	size int64
	exec bool
	link string
}

// scan validates, sorts and stats paths and adds their parents. It returns the
// entries to write and the bytes of file content they hold.
func scan(root string, paths []string, opts *PackOptions) ([]entry, int64, error) {
	ps := make([]string, len(paths))
	for i, p := range paths {
		if len(p) > 1 {
			p = strings.TrimRight(p, "/") // "dir/" names a directory too
		}
		ps[i] = p
	}
	slices.Sort(ps)
	ps = slices.Compact(ps)
	entries := make([]entry, 0, len(ps)+len(ps)/8+1)
	kinds := make(map[string]byte, len(ps))
	var total int64
	lastDir := "."
	for _, p := range ps {
		if r := checkRel(p, "path escapes the root"); r != "" {
			return nil, 0, &FileError{Path: p, Reason: r}
		}
		if dir := path.Dir(p); dir != lastDir {
			for i := 0; ; {
				j := strings.IndexByte(p[i:], '/')
				if j < 0 {
					break
				}
				anc := p[:i+j]
				i += j + 1
				if k, ok := kinds[anc]; ok {
					if k != tar.TypeDir {
						return nil, 0, &FileError{Path: filepath.Join(root, anc), Reason: fmt.Sprintf("is not a directory, but %s is under it", p)}
					}
					continue
				}
				full := opts.full(root, anc)
				fi, err := opts.lstat(anc, full)
				if err != nil {
					return nil, 0, err
				}
				if !fi.IsDir() {
					return nil, 0, &FileError{Path: full, Reason: fmt.Sprintf("is not a directory, but %s is under it", p)}
				}
				kinds[anc] = tar.TypeDir
				entries = append(entries, entry{rel: anc, kind: tar.TypeDir})
			}
			lastDir = dir
		}
		if _, ok := kinds[p]; ok {
			continue
		}
		full := opts.full(root, p)
		fi, err := opts.lstat(p, full)
		if err != nil {
			return nil, 0, err
		}
		e := entry{rel: p}
		switch m := fi.Mode(); {
		case m.IsRegular():
			e.kind, e.size, e.exec = tar.TypeReg, fi.Size(), isExec(m)
			total += e.size
		case m.IsDir():
			e.kind = tar.TypeDir
		case m&fs.ModeSymlink != 0:
			target, err := os.Readlink(full)
			if err != nil {
				return nil, 0, err
			}
			if r := checkSymlinkTarget(p, target); r != "" {
				return nil, 0, &FileError{Path: full, Reason: r + "; readers refuse it"}
			}
			e.kind, e.link = tar.TypeSymlink, target
		default:
			return nil, 0, &FileError{Path: full, Reason: fmt.Sprintf("is a %s; only regular files, directories and symlinks can be packed", fileKind(m))}
		}
		kinds[p] = e.kind
		entries = append(entries, e)
	}
	return entries, total, nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe (fifo)"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeIrregular != 0:
		return "irregular file"
	}
	return "special file (" + m.Type().String() + ")"
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func writeLayer(ctx context.Context, w io.Writer, root string, entries []entry, opts PackOptions, buf *scratch) (info LayerInfo, err error) {
	sum := sha256.New()
	enc, err := newFrameWriter(w, sum)
	if err != nil {
		return LayerInfo{}, err
	}
	closed := false
	defer func() {
		if !closed {
			// Wait for the frames still being compressed and written, so
			// nothing reaches w after we return.
			_ = enc.Close()
		}
	}()
	tarOut := &countWriter{w: enc}
	tw := tar.NewWriter(tarOut)
	dirs := &dirCursor{root: root}
	defer dirs.close()
	for i, e := range entries {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return LayerInfo{}, err
			}
		}
		var err error
		switch e.kind {
		case tar.TypeDir:
			err = tw.WriteHeader(dirHeader(e.rel))
		case tar.TypeSymlink:
			err = tw.WriteHeader(symlinkHeader(e.rel, e.link))
		default:
			err = writeFile(ctx, tw, enc.space, dirs, e, opts, buf)
		}
		if err != nil {
			return LayerInfo{}, err
		}
	}
	if err := tw.Close(); err != nil {
		return LayerInfo{}, err
	}
	closed = true
	if err := enc.Close(); err != nil {
		return LayerInfo{}, err
	}
	return LayerInfo{
		Digest:           digest.NewDigestFromBytes(digest.SHA256, sum.Sum(nil)),
		Size:             enc.written(),
		UncompressedSize: tarOut.n,
		Files:            len(entries),
	}, nil
}

// writeFile writes the entry of the regular file e to tw, which writes to
// the frameWriter whose space is given.
func writeFile(ctx context.Context, tw *tar.Writer, space func() []byte, dirs *dirCursor, e entry, opts PackOptions, s *scratch) error {
	var f *readFile
	var err error
	if src := opts.source(e.rel); src != "" {
		f, err = openRead(src)
	} else {
		f, err = dirs.open(e.rel)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	shrank := func(err error) error {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return &FileError{Path: f.name(), Reason: "file shrank while it was packed", Err: err}
		}
		return err
	}
	if opts.rewrite(e) {
		// The whole content (its size at the scan), in memory reused from
		// file to file.
		if int64(cap(s.whole)) < e.size {
			s.whole = make([]byte, max(e.size, bufSize))
		}
		data := s.whole[:e.size]
		if _, err := io.ReadFull(f, data); err != nil {
			return shrank(err)
		}
		if out, ok := opts.Transform(e.rel, data); ok {
			data = out
		}
		if err := tw.WriteHeader(fileHeader(e.rel, int64(len(data)), e.exec)); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	}
	if err := tw.WriteHeader(fileHeader(e.rel, e.size, e.exec)); err != nil {
		return err
	}
	for left := e.size; left > 0; {
		// Read straight into the layer's frame (the tar writer passes
		// file content through as it is), so it is not copied there.
		buf := space()
		n := int(min(int64(len(buf)), left))
		n, err := io.ReadFull(f, buf[:n])
		if err != nil {
			return shrank(err)
		}
		if _, err := tw.Write(buf[:n]); err != nil {
			return err
		}
		left -= int64(n)
		if left > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// readFile is a file opened for reading by openRead or dirCursor.open.
type readFile struct {
	fd int
	// path is the file's path, or "" for root/rel.
	path, root, rel string
}

// name is the file's path, for errors.
func (f *readFile) name() string {
	if f.path != "" {
		return f.path
	}
	return filepath.Join(f.root, filepath.FromSlash(f.rel))
}

// openRead opens a file to pack. os.Open costs five more system calls per
// file than open(2) (it tries to register the file with the network poller,
// which refuses regular files, and sets and clears O_NONBLOCK around that);
// across the 20,000 files of an environment that is a tenth of a second of
// CPU, so the packer reads with plain system calls.
func openRead(name string) (*readFile, error) {
	fd, err := openat(unix.AT_FDCWD, name, syscall.O_RDONLY)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return &readFile{fd: fd, path: name}, nil
}

// openat is openat(2) with O_CLOEXEC, again after EINTR.
func openat(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// dirCursor opens the files of a layer, in the layer's (sorted) order,
// relative to their folder: it keeps the folders from root down to the
// last file's open, and opens each folder with openat(2) relative to its
// parent and each file relative to its folder. The kernel then looks up
// one name per file instead of every folder of its path again (as much CPU
// as the read of a small file, across the 20,000 files of an environment).
// Names are resolved as in a path open of root/rel (symlinks followed).
type dirCursor struct {
	root string
	dir  string // the folder open at fds[len(fds)-1], relative to root ("" for root)
	fds  []int  // root, then each folder of dir
}

// open opens root/rel, rel a clean slash path relative to root.
func (c *dirCursor) open(rel string) (*readFile, error) {
	dir, base := "", rel
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		dir, base = rel[:i], rel[i+1:]
	}
	fail := func(err error) (*readFile, error) {
		return nil, &os.PathError{Op: "open", Path: filepath.Join(c.root, filepath.FromSlash(rel)), Err: err}
	}
	if len(c.fds) == 0 {
		fd, err := openat(unix.AT_FDCWD, c.root, unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			return fail(err)
		}
		c.fds, c.dir = []int{fd}, ""
	}
	if dir != c.dir {
		// Keep the n folders dir begins with that are open, close the
		// others, and open the rest of dir, from pos.
		n, pos := 0, 0
		for pos < len(dir) {
			end := compEnd(dir, pos)
			if len(c.dir) < end || c.dir[:end] != dir[:end] || (len(c.dir) > end && c.dir[end] != '/') {
				break
			}
			n, pos = n+1, end+1
		}
		for len(c.fds) > n+1 {
			syscall.Close(c.fds[len(c.fds)-1])
			c.fds = c.fds[:len(c.fds)-1]
		}
		c.dir = dir[:max(0, pos-1)]
		for pos < len(dir) {
			end := compEnd(dir, pos)
			fd, err := openat(c.fds[len(c.fds)-1], dir[pos:end], unix.O_RDONLY|unix.O_DIRECTORY)
			if err != nil {
				return fail(err)
			}
			c.fds, c.dir = append(c.fds, fd), dir[:end]
			pos = end + 1
		}
	}
	fd, err := openat(c.fds[len(c.fds)-1], base, unix.O_RDONLY)
	if err != nil {
		return fail(err)
	}
	return &readFile{fd: fd, root: c.root, rel: rel}, nil
}

// compEnd is where the path component of p that starts at i ends.
func compEnd(p string, i int) int {
	if j := strings.IndexByte(p[i:], '/'); j >= 0 {
		return i + j
	}
	return len(p)
}

// close closes the folders open.
func (c *dirCursor) close() {
	for _, fd := range c.fds {
		syscall.Close(fd)
	}
	c.fds, c.dir = nil, ""
}

func (f *readFile) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := syscall.Read(f.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, &os.PathError{Op: "read", Path: f.name(), Err: err}
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *readFile) Close() error { return syscall.Close(f.fd) }
