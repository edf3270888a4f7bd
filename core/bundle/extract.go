package bundle

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
)

// maxWindow is the largest zstd window a layer may ask for (zstd --long=27
// uses 128 MiB; our writer uses 8 MiB).
const maxWindow = 128 << 20

// ExtractOptions bound what ExtractLayer accepts. Zero means no limit.
type ExtractOptions struct {
	// MaxBytes bounds the bytes of the decompressed tar (give the layer's
	// AnnotationUncompressedSize, see UncompressedSize).
	MaxBytes int64
	// MaxFiles bounds the number of tar entries.
	MaxFiles int
	// Digest, if set, is the sha256 digest the compressed stream must have; it
	// is checked after the whole stream has been read.
	Digest digest.Digest
	// Verified says the caller checks the compressed stream's digest
	// itself (a pull's copy does, as the bytes arrive). With it, or with
	// Digest, the zstd frames' own checksums are not checked too: the
	// digest covers every byte they cover.
	Verified bool
	// Rename, if set, gives the path each entry (by its cleaned tar name) is
	// extracted at; "" refuses the entry. Every check applies to the new
	// path. It lets one layer's bytes be laid out at different paths (a
	// content-addressed file of a model, see core/artifact).
	Rename func(name string) string
	// Sums, if set, hears of each regular file written (name: its slash
	// path in dest) what FileSum says, hashed from the bytes as they are
	// written; it may be called from several goroutines at once. A cache
	// fill passes them on so its seal need neither read the files back nor
	// stat them.
	Sums func(name string, s FileSum)
	// ReadOnly makes regular files without their write bits (0444 or
	// 0555): a cache entry is made read-only when sealed, and a file made
	// so spares the seal a chmod.
	ReadOnly bool
}

// FileSum is what ExtractLayer knows of a regular file it wrote: its size,
// the XXH64 of its content (the content check of a cache entry, see
// internal/filehash.XXH64), its mode (0644 or 0755, as the file is meant
// to be, whatever ReadOnly did), and its inode and modification time as
// fstat gave them after its last write. Its fields are a tree cache
// fill's treecache.Sum, in the same order, so a fill converts one to the
// other.
type FileSum struct {
	Size    int64
	XXH64   uint64
	Mode    fs.FileMode
	Inode   uint64
	MTimeNS int64
}

// ExtractStats says what ExtractLayer wrote.
type ExtractStats struct {
	Files    int   // regular files
	Dirs     int   // directory entries (existing directories included)
	Symlinks int   // symlinks
	Bytes    int64 // bytes of file content
}

// ExtractLayerFile extracts the layer in the file at path; see ExtractLayer.
func ExtractLayerFile(ctx context.Context, path, dest string, opts ExtractOptions) (ExtractStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return ExtractStats{}, err
	}
	defer f.Close()
	return ExtractLayer(ctx, f, dest, opts)
}

// ExtractLayer decompresses a layer from r and extracts it into dest (made if
// missing). Several layers may be extracted into one dest in turn: a file or
// symlink of a later layer replaces one of an earlier layer; a directory is
// never replaced. It refuses, with a *FormatError: absolute paths, ".."
// segments, paths through a symlink, symlinks whose target is absolute or
// leaves dest (see PackLayer), hard links, devices, fifos and other entry
// types, duplicate entries, more than opts.MaxBytes of tar or opts.MaxFiles
// entries, corrupt or truncated input. Files get the normalized modes (0755
// or 0644; without write bits with opts.ReadOnly), whatever the tar says.
// All writes go through an os.Root on dest, so nothing is written outside
// it, whatever the input and whatever is already in dest. Regular files are
// written by a few goroutines (extract_writers.go); every check is made
// before a file is handed to one, and none is written after it returns.
// After an error, dest holds part of the layer; the caller removes it.
// Layers whose entries do not overlap (apart from shared parent
// directories) may be extracted into one dest concurrently.
func ExtractLayer(ctx context.Context, r io.Reader, dest string, opts ExtractOptions) (ExtractStats, error) {
	var sum hash.Hash
	if opts.Digest != "" {
		if err := checkDigest(opts.Digest); err != nil {
			return ExtractStats{}, err
		}
		sum = sha256.New()
		r = io.TeeReader(r, sum)
	}
	src := &errReader{r: r}
	dec, err := zstd.NewReader(src, zstd.WithDecoderMaxWindow(maxWindow), zstd.WithDecoderConcurrency(1),
		zstd.IgnoreChecksum(opts.Digest != "" || opts.Verified))
	if err != nil {
		return ExtractStats{}, src.classify(err)
	}
	defer dec.Close()
	lim := &bombReader{r: dec, left: opts.MaxBytes, max: opts.MaxBytes}
	if opts.MaxBytes <= 0 {
		lim.left = -1
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return ExtractStats{}, err
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return ExtractStats{}, err
	}
	defer root.Close()
	x := &extractor{
		ctx:   ctx,
		root:  root,
		end:   &endReader{r: lim},
		lim:   lim,
		opts:  opts,
		dirs:  map[string]bool{},
		seen:  map[string]byte{},
		chmod: umask(),
		cur:   dirRoots{root: root},
	}
	x.tr = tar.NewReader(x.end)
	err = x.run()
	x.cur.close()
	if x.pool != nil {
		err = x.pool.close(err)
		x.stats.Files += int(x.pool.files.Load())
		x.stats.Bytes += x.pool.bytes.Load()
	}
	if err != nil {
		return x.stats, src.classify(err)
	}
	if sum != nil {
		// Read to the end of the stream, so the digest covers all of it.
		if _, err := io.Copy(io.Discard, lim); err != nil {
			return x.stats, src.classify(err)
		}
		dec.Close()
		if _, err := io.Copy(io.Discard, r); err != nil {
			return x.stats, err
		}
		if got := digest.NewDigestFromBytes(digest.SHA256, sum.Sum(nil)); got != opts.Digest {
			return x.stats, formatErr("", "layer digest is %s, want %s", got, opts.Digest)
		}
	}
	return x.stats, nil
}

type extractor struct {
	ctx   context.Context
	root  *os.Root
	tr    *tar.Reader
	lim   *bombReader
	end   *endReader
	opts  ExtractOptions
	stats ExtractStats
	n     int             // entries so far
	dirs  map[string]bool // directories known to be real (not symlinks)
	seen  map[string]byte // entries of this layer: their tar type
	chmod fs.FileMode     // mode bits the umask removes: files need a chmod

	cur  dirRoots    // the folder of the last symlink, open
	pool *writerPool // the writers of regular files, once there is one
}

func (x *extractor) run() error {
	for {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		hdr, err := x.tr.Next()
		if err == io.EOF {
			if !x.end.ended() {
				return errNoEnd
			}
			return nil
		}
		if err != nil {
			return err
		}
		if err := x.entry(hdr); err != nil {
			return err
		}
	}
}

func (x *extractor) entry(hdr *tar.Header) error {
	raw := hdr.Name
	name := raw
	for strings.HasPrefix(name, "./") {
		name = name[2:]
	}
	name = strings.TrimRight(name, "/")
	if strings.HasPrefix(raw, "/") {
		return formatErr(raw, "absolute path")
	}
	if reason := checkType(hdr, true); reason != "" {
		return formatErr(raw, "%s", reason)
	}
	if x.opts.Rename != nil && name != "" && name != "." {
		if name = x.opts.Rename(name); name == "" {
			return formatErr(raw, "unexpected entry")
		}
	}
	if name == "" || name == "." {
		if hdr.Typeflag == tar.TypeDir {
			return nil // the destination itself
		}
		return formatErr(raw, "entry names the destination itself")
	}
	if reason := checkRel(name, "path escapes the destination"); reason != "" {
		return formatErr(raw, "%s", reason)
	}
	x.n++
	if x.opts.MaxFiles > 0 && x.n > x.opts.MaxFiles {
		return formatErr(raw, "layer has more than %d entries", x.opts.MaxFiles)
	}
	if _, dup := x.seen[name]; dup {
		return formatErr(raw, "duplicate entry")
	}
	x.seen[name] = hdr.Typeflag
	if x.lim.left >= 0 && hdr.Size > x.lim.left {
		return formatErr(raw, "layer expands beyond %d bytes", x.opts.MaxBytes)
	}
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	if err := x.parents(raw, dir); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return x.mkdir(raw, name)
	case tar.TypeSymlink:
		if reason := checkSymlinkTarget(name, hdr.Linkname); reason != "" {
			return formatErr(raw, "%s", reason)
		}
		return x.create(raw, dir, base, func(r *os.Root) error {
			if err := r.Symlink(hdr.Linkname, base); err != nil {
				return err
			}
			x.stats.Symlinks++
			return nil
		})
	default: // tar.TypeReg
		mode := fs.FileMode(fileMode(isExec(fs.FileMode(hdr.Mode))))
		if x.pool == nil {
			x.pool = newWriterPool(x.ctx, x.root, x.chmod, x.opts)
		}
		return x.pool.write(x.tr, raw, name, dir, base, mode, hdr.Size)
	}
}

// parents makes sure every ancestor of an entry is a real directory, making
// missing ones.
func (x *extractor) parents(raw, dir string) error {
	if dir == "" || x.dirs[dir] {
		return nil
	}
	for i := 0; ; {
		j := strings.IndexByte(dir[i:], '/')
		anc := dir
		if j >= 0 {
			anc = dir[:i+j]
			i += j + 1
		}
		if !x.dirs[anc] {
			// An entry of this layer that is not a directory is refused
			// by its name, before any look at the disk.
			switch x.seen[anc] {
			case tar.TypeSymlink:
				return formatErr(raw, "path goes through the symlink %q", anc)
			case tar.TypeReg:
				return formatErr(raw, "path goes through the file %q", anc)
			}
			fi, err := x.root.Lstat(anc)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				if err := x.newDir(anc); err != nil {
					return err
				}
			case err != nil:
				return err
			case fi.Mode()&fs.ModeSymlink != 0:
				return formatErr(raw, "path goes through the symlink %q", anc)
			case !fi.IsDir():
				return formatErr(raw, "path goes through the file %q", anc)
			}
			x.dirs[anc] = true
		}
		if j < 0 {
			return nil
		}
	}
}

// newDir makes the directory name. If it appeared meanwhile (another layer
// extracted into the same dest at the same time made it), a real directory
// is fine.
func (x *extractor) newDir(name string) error {
	if err := x.root.Mkdir(name, modeDir); err != nil {
		if fi, lerr := x.root.Lstat(name); errors.Is(err, fs.ErrExist) && lerr == nil && fi.IsDir() {
			return nil
		}
		return err
	}
	if x.chmod&modeDir == 0 {
		return nil
	}
	return x.root.Chmod(name, modeDir)
}

// umask returns the process's umask, read (on Linux) without changing it, so
// files need a chmod only when it takes away bits they should have. Where it
// cannot be read, it says every bit, so every file gets its chmod.
func umask() fs.FileMode {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0o777
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
				return fs.FileMode(m) & 0o777
			}
		}
	}
	return 0o777
}

func (x *extractor) mkdir(raw, name string) error {
	x.stats.Dirs++
	if x.dirs[name] {
		return nil
	}
	fi, err := x.root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := x.newDir(name); err != nil {
			return err
		}
	case err != nil:
		return err
	case !fi.IsDir() || fi.Mode()&fs.ModeSymlink != 0:
		return formatErr(raw, "directory would replace an existing file or symlink")
	}
	x.dirs[name] = true
	return nil
}

// create calls make in the directory of an entry (see createIn).
func (x *extractor) create(raw, dir, base string, make func(*os.Root) error) error {
	r, err := x.cur.get(dir)
	if err != nil {
		return err
	}
	return createIn(r, raw, base, make)
}

// createIn calls make in the folder r, for the entry base. If the name
// exists, a file or symlink (of an earlier layer) is replaced; a directory
// is refused.
func createIn(r *os.Root, raw, base string, make func(*os.Root) error) error {
	err := make(r)
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	fi, lerr := r.Lstat(base)
	if lerr != nil {
		return err
	}
	if fi.IsDir() {
		return formatErr(raw, "would replace an existing directory")
	}
	if err := r.Remove(base); err != nil {
		return err
	}
	return make(r)
}

// bombReader fails once more than max bytes have been read (left < 0: no limit).
type bombReader struct {
	r    io.Reader
	left int64
	max  int64
}

func (b *bombReader) Read(p []byte) (int, error) {
	if b.left < 0 {
		return b.r.Read(p)
	}
	if b.left == 0 {
		var one [1]byte
		n, err := b.r.Read(one[:])
		if n > 0 {
			return 0, formatErr("", "layer expands beyond %d bytes", b.max)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// errReader remembers the error of the source, so I/O errors can be told from
// format errors.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// classify returns I/O errors of the source and of the destination as they
// are, and turns everything else from the decoder and the tar reader into a
// *FormatError.
func (e *errReader) classify(err error) error {
	var fe *FormatError
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		return err
	case e.err != nil && errors.Is(err, e.err):
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.As(err, &pe), errors.As(err, &le):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &FormatError{Reason: "truncated input", Err: io.ErrUnexpectedEOF}
	}
	if strings.HasPrefix(err.Error(), "archive/tar:") {
		return tarErr("", err)
	}
	return &FormatError{Reason: fmt.Sprintf("corrupt layer: %v", err), Err: err}
}
