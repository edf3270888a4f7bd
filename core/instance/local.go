package instance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/core/uri"
	"github.com/swcli/swcli/internal/directio"
	"github.com/swcli/swcli/internal/writeback"
)

// Local is the standalone instance: a registry over the filesystem store
// under the storage root (ROOT/store), or over the store SW_STORE or the
// CLI config's `store:` names (a team's shared bucket; see Opener).
type Local struct {
	root string
	fs   *store.FS // nil on another store
	reg  *registry.Registry
}

var _ Instance = (*Local)(nil)

// OpenLocal opens the local instance whose storage root is root.
func OpenLocal(root string) (*Local, error) {
	if root == "" {
		return nil, fmt.Errorf("no storage root (set SW_LOCAL_STORAGE)")
	}
	// DEFERRED: blobs, links and leases are committed without waiting for
	// the disk, and checked after a power loss (registry.Checkable); the
	// records stay synced. One machine, one boot: the page cache is the
	// truth until the machine goes down.
	fs, err := store.NewFS(filepath.Join(root, "store"), store.Deferred(registry.Checkable))
	if err != nil {
		return nil, fmt.Errorf("open the local store at %s: %w", root, err)
	}
	return &Local{root: root, fs: fs, reg: registry.New(fs)}, nil
}

// Of is the local instance's view of the artifacts of kind k (runtimes,
// models, datasets): the same store and root, the registry of that kind.
func (l *Local) Of(k registry.Kind) *Local {
	if l.reg.Kind() == k {
		return l
	}
	c := *l
	c.reg = l.reg.Of(k)
	return &c
}

// OpenLocalOn opens the local instance whose storage root is root over the
// store st (opened from a store URL): versions, tags and blobs live in st;
// restored environments and temporary files stay under root.
func OpenLocalOn(root string, st store.Store) (*Local, error) {
	if root == "" {
		return nil, fmt.Errorf("no storage root (set SW_LOCAL_STORAGE)")
	}
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o755); err != nil {
		return nil, fmt.Errorf("open the local storage root %s: %w", root, err)
	}
	return &Local{root: root, reg: registry.New(st)}, nil
}

// OnRegistry is the instance over any registry (the server's, over any
// store): the local instance's operations without its storage root; blobs
// being written are staged in the system's temp folder.
func OnRegistry(reg *registry.Registry) *Local { return &Local{reg: reg} }

// TempDir is where blobs being written are staged: the filesystem store's
// own (so they move in with a rename), else ROOT/tmp, else the system's.
func (l *Local) TempDir() string {
	switch {
	case l.fs != nil:
		return l.fs.TempDir()
	case l.root != "":
		return filepath.Join(l.root, "tmp")
	}
	return os.TempDir()
}

func (l *Local) tempDir() string { return l.TempDir() }

// Registry is the registry under the local instance, for the workflows that
// write it (build) or read layers by path (restore).
func (l *Local) Registry() *registry.Registry { return l.reg }

// Store is the store under the local instance.
func (l *Local) Store() store.Store { return l.reg.Store() }

// Root is the storage root.
func (l *Local) Root() string { return l.root }

func (l *Local) Name() string { return LocalName }
func (l *Local) Close() error { return nil }

func (l *Local) URI(v Version) uri.URI {
	return uri.URI{Instance: LocalName, Project: v.Project, Name: v.Name, Version: v.Short, Artifact: string(l.reg.Kind())}
}

func (l *Local) Resolve(ctx context.Context, ref Ref, includeRemoved bool) (Version, error) {
	var opts []registry.ResolveOption
	if includeRemoved {
		opts = append(opts, registry.IncludeRemoved())
	}
	return l.reg.Resolve(ctx, project(ref.Project), ref.Name, orLatest(ref.Version), opts...)
}

func (l *Local) Manifest(ctx context.Context, v Version) ([]byte, error) {
	return l.reg.Manifest(ctx, v)
}

func (l *Local) ListRuntimes(ctx context.Context, p string, showRemoved bool) ([]RuntimeSummary, error) {
	return l.reg.ListRuntimes(ctx, project(p), showRemoved)
}

func (l *Local) ListVersions(ctx context.Context, p, name string, showRemoved bool) ([]Version, error) {
	return l.reg.ListVersions(ctx, project(p), name, showRemoved)
}

func (l *Local) PrepareWrite(_ context.Context, to Ref, _ bool) error {
	return registry.CheckNames(project(to.Project), to.Name)
}

func (l *Local) PutManifest(ctx context.Context, p, name string, manifest []byte, tags []string) (Version, error) {
	return l.reg.PutVersion(ctx, project(p), name, manifest, tags)
}

func (l *Local) Tag(ctx context.Context, ref Ref, tags []string, force bool) (Version, error) {
	v, err := l.Resolve(ctx, ref, false)
	if err != nil {
		return Version{}, err
	}
	if err := l.reg.Tag(ctx, v.Project, v.Name, string(v.Digest), tags, force); err != nil {
		return Version{}, err
	}
	return l.reg.Resolve(ctx, v.Project, v.Name, string(v.Digest))
}

func (l *Local) Untag(ctx context.Context, ref Ref, tags []string) (Version, error) {
	v, err := l.Resolve(ctx, ref, false)
	if err != nil {
		return Version{}, err
	}
	if err := l.reg.Untag(ctx, v.Project, v.Name, tags); err != nil {
		return Version{}, err
	}
	return l.reg.Resolve(ctx, v.Project, v.Name, string(v.Digest))
}

func (l *Local) Remove(ctx context.Context, ref Ref, force bool) ([]Version, error) {
	if ref.Version == "" {
		// One registry operation: never half the versions removed.
		return l.reg.RemoveRuntime(ctx, project(ref.Project), ref.Name, force)
	}
	v, err := l.Resolve(ctx, ref, force)
	if err != nil {
		return nil, err
	}
	if err := l.reg.Remove(ctx, v.Project, v.Name, string(v.Digest), force); err != nil {
		return nil, err
	}
	return []Version{v}, nil
}

func (l *Local) Recover(ctx context.Context, ref Ref) (Version, error) {
	return l.reg.Recover(ctx, project(ref.Project), ref.Name, ref.Version)
}

func (l *Local) GC(ctx context.Context, o GCOptions) (GCStats, error) {
	opts := []registry.GCOption{registry.GracePeriod(o.Grace)}
	if o.DryRun {
		opts = append(opts, registry.DryRun())
	}
	return l.reg.GC(ctx, opts...)
}

func (l *Local) Stat(ctx context.Context, d digest.Digest) (int64, error) {
	return l.reg.BlobSize(ctx, d)
}

func (l *Local) Get(ctx context.Context, d digest.Digest, offset int64) (io.ReadCloser, error) {
	return l.reg.GetBlobRange(ctx, d, offset, -1)
}

// Writer stages the blob in the store's temp folder under a name made of its
// digest, so an interrupted copy resumes where it stopped: the next Writer
// for the same digest finds the partial file, hashes what it holds and
// appends. The partial file is locked (flock) while written; a second writer
// of the same blob meanwhile stages privately and cannot resume. The store
// removes partial files older than a day.
func (l *Local) Writer(ctx context.Context, desc ocispec.Descriptor) (BlobWriter, error) {
	if err := desc.Digest.Validate(); err != nil {
		return nil, &registry.InvalidNameError{Kind: "digest", Value: string(desc.Digest), Reason: err.Error()}
	}
	path := filepath.Join(l.tempDir(), "upload-"+desc.Digest.Encoded())
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("local: stage blob %s: %w", desc.Digest, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if f, err = os.CreateTemp(l.tempDir(), "upload-*"); err != nil {
			return nil, fmt.Errorf("local: stage blob %s: %w", desc.Digest, err)
		}
		path = f.Name()
	}
	// The writeback hint only helps a commit that fsyncs; a DEFERRED store
	// does not, and the hint would only compete for the disk.
	hint := !store.DefersSync(l.reg.Store())
	w := &fileBlobWriter{f: f, path: path, desc: desc, digester: digest.SHA256.Digester(), hint: hint}
	// What an earlier writer left counts only up to the blob's size.
	n, err := io.Copy(w.digester.Hash(), io.LimitReader(f, desc.Size))
	if err == nil {
		err = f.Truncate(n)
	}
	if err == nil {
		_, err = f.Seek(n, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("local: stage blob %s: %w", desc.Digest, err)
	}
	w.n, w.flushed = n, n
	// A large blob is written around the page cache: stored once, read
	// back later if ever (a restore unpacks it from the wire).
	w.out = f
	if w.direct = directio.ForSize(f, n, desc.Size-n); w.direct != nil {
		w.out = w.direct
	}
	w.commit = func(ctx context.Context) error {
		_, err := l.reg.PutBlobFile(ctx, w.path, desc.Digest, true)
		return err
	}
	return w, nil
}

// fileBlobWriter writes a blob to a local file while hashing it; commit moves
// the verified file to its place.
type fileBlobWriter struct {
	f        *os.File
	path     string
	desc     ocispec.Descriptor
	digester digest.Digester
	n        int64
	flushed  int64            // bytes whose writeback started
	hint     bool             // start writeback as the bytes arrive (see Writer)
	direct   *directio.Writer // nil: writes go to f as they come
	out      io.Writer        // f or direct
	done     bool
	commit   func(ctx context.Context) error
}

func (w *fileBlobWriter) Offset() int64 { return w.n }

// writebackEvery is how many written bytes start their writeback to disk
// (see internal/writeback): a large blob is mostly on disk when it is
// committed, instead of all of it waiting for the store's fsync.
const writebackEvery = 8 << 20

func (w *fileBlobWriter) Write(p []byte) (int, error) {
	if w.n+int64(len(p)) > w.desc.Size {
		return 0, fmt.Errorf("blob %s: more than its %d bytes", w.desc.Digest, w.desc.Size)
	}
	n, err := w.out.Write(p)
	w.digester.Hash().Write(p[:n])
	w.n += int64(n)
	if w.hint && w.direct == nil && w.n-w.flushed >= writebackEvery {
		writeback.Start(w.f, w.flushed, w.n-w.flushed)
		w.flushed = w.n
	}
	return n, err
}

// Commit verifies the staged file and hands it to the registry, whose
// store makes it durable (a SYNCED filesystem store fsyncs it as it moves
// it in; a DEFERRED one checks it after a power loss): the staging file
// itself is not synced, a partial one that a crash damaged fails its
// digest on the next try and is staged again.
func (w *fileBlobWriter) Commit(ctx context.Context) error {
	if err := w.direct.Flush(); err != nil {
		w.f.Close()
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	w.done = true
	if got := w.digester.Digest(); got != w.desc.Digest || w.n != w.desc.Size {
		_ = os.Remove(w.path)
		return &registry.DigestMismatchError{Expected: w.desc.Digest, Actual: got}
	}
	return w.commit(ctx)
}

func (w *fileBlobWriter) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	err := w.direct.Flush() // what a later writer resumes from
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// LocalName is the name of the standalone instance in URIs.
const LocalName = "local"

func project(p string) string {
	if p == "" {
		return DefaultProject
	}
	return p
}

func orLatest(v string) string {
	if v == "" {
		return "latest"
	}
	return v
}

// isBlobUnknown tells whether err says a blob is absent.
func isBlobUnknown(err error) bool {
	var bu *registry.BlobUnknownError
	return errors.As(err, &bu)
}

// BlobConcurrency: the local store takes several blobs at once (each is
// staged in its own file; see Writer). 16, as the remote instance: with
// many small layers the time goes in per-blob round trips and disk
// flushes, which overlap (copy-small push, one run each: 0.70x at 4, 0.8x
// at 8, 1.07x at 16).
func (l *Local) BlobConcurrency() int { return 16 }
