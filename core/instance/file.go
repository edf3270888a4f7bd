package instance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/uri"
	"github.com/swcli/swcli/internal/atomicfile"
)

// File is a .swrt bundle file as a place: one runtime with one version.
//
// Read, it is checked in full the first time it is used (every blob's digest,
// and every layer extracted to a scratch folder and thrown away, so a bundle
// that could not be restored is refused before anything is copied from it).
// Written, its blobs are staged in a folder beside it and PutManifest writes
// the bundle through a temporary file and a rename: a failed copy leaves the
// old file (or none). A bundle file keeps no tags, trash or garbage, so Tag,
// Untag, Remove, Recover and GC give *UnsupportedError. Staged blobs do not
// survive the process, so a File writer never resumes (Offset 0).
type File struct {
	path       string
	tmpRoot    string
	readConfig func(config []byte) (name string, err error)

	once    sync.Once
	loadErr error
	lay     *bundle.Layout
	ver     Version
	readTmp string

	writing bool
	stage   string
	mu      sync.Mutex
	staged  map[digest.Digest]string
}

var _ Instance = (*File)(nil)

// OpenFile opens the bundle file at path as a place. tmpRoot holds the
// unpacked blobs while it is read (the local store's temp folder, so a copy
// into the local store moves them instead of copying); readConfig gives the
// runtime name from the config blob and refuses a bad one (nil: the "name"
// field).
func OpenFile(path, tmpRoot string, readConfig func([]byte) (string, error)) *File {
	if readConfig == nil {
		readConfig = configName
	}
	return &File{path: path, tmpRoot: tmpRoot, readConfig: readConfig}
}

func configName(config []byte) (string, error) {
	var c struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(config, &c); err != nil || c.Name == "" {
		return "", fmt.Errorf("the config blob names no runtime")
	}
	return c.Name, nil
}

func (f *File) Name() string { return f.path }

func (f *File) URI(Version) uri.URI {
	return uri.URI{File: f.path, Artifact: uri.FileExts[filepath.Ext(f.path)]}
}

func (f *File) unsupported(op string) error {
	return &UnsupportedError{Place: f.path, Op: op, Why: "a .swrt file holds one version and no tags"}
}

// load reads and checks the bundle once.
func (f *File) load(ctx context.Context) error {
	f.once.Do(func() { f.loadErr = f.read(ctx) })
	return f.loadErr
}

func (f *File) read(ctx context.Context) error {
	in, err := os.Open(f.path)
	if err != nil {
		return &BadFileError{Path: f.path, Msg: "cannot open bundle: " + unwrapPath(err)}
	}
	defer in.Close()
	if f.readTmp, err = mkdirTemp(f.tmpRoot, "read-swrt-"); err != nil {
		return err
	}
	lay, err := bundle.ReadSWRT(ctx, in, f.readTmp, bundle.DefaultLimits)
	if err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	name, err := f.readConfig(lay.Config)
	if err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	m, err := bundle.ParseManifest(lay.Manifest)
	if err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	for _, l := range m.Layers {
		if err := checkLayer(ctx, lay.Blobs[l.Digest], l, f.readTmp); err != nil {
			return fmt.Errorf("%s: layer %s: %w", f.path, l.Digest.Encoded()[:12], err)
		}
	}
	size := int64(len(lay.Manifest))
	for d, p := range lay.Blobs {
		if d == lay.ManifestDigest {
			continue
		}
		if st, err := os.Stat(p); err == nil {
			size += st.Size()
		}
	}
	f.lay = lay
	f.ver = Version{Name: name, Digest: lay.ManifestDigest, Short: lay.ManifestDigest.Encoded()[:12], Size: size}
	return nil
}

// checkLayer extracts a layer into a scratch folder and throws it away: the
// reader's checks are the point.
func checkLayer(ctx context.Context, path string, d ocispec.Descriptor, tmp string) error {
	scratch, err := os.MkdirTemp(tmp, "check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	_, err = bundle.ExtractLayerFile(ctx, path, scratch, LayerExtractOptions(d))
	return err
}

// LayerExtractOptions are the limits a layer is extracted under: the digest
// it must have, and its declared uncompressed size (else 256 GiB) and at most
// two million files.
func LayerExtractOptions(d ocispec.Descriptor) bundle.ExtractOptions {
	o := bundle.ExtractOptions{Digest: d.Digest, MaxFiles: 2_000_000}
	if n, err := bundle.UncompressedSize(d); err == nil && n > 0 {
		o.MaxBytes = n
	} else {
		o.MaxBytes = 256 << 30
	}
	return o
}

func (f *File) Resolve(ctx context.Context, ref Ref, _ bool) (Version, error) {
	if err := f.load(ctx); err != nil {
		return Version{}, err
	}
	v := f.ver
	if ref.Name != "" && ref.Name != v.Name {
		return Version{}, &registry.NotFoundError{Project: ref.Project, Name: ref.Name, Existing: []string{v.Name}}
	}
	r := strings.TrimPrefix(ref.Version, "sha256:")
	switch {
	case r == "", r == "latest", len(r) >= 4 && strings.HasPrefix(v.Digest.Encoded(), r):
		return v, nil
	}
	return Version{}, &registry.NotFoundError{Name: v.Name, Ref: ref.Version, Existing: []string{v.Short}}
}

func (f *File) Manifest(ctx context.Context, v Version) ([]byte, error) {
	if err := f.load(ctx); err != nil {
		return nil, err
	}
	if v.Digest != f.ver.Digest {
		return nil, &registry.NotFoundError{Name: v.Name, Ref: v.Short, Existing: []string{f.ver.Short}}
	}
	return f.lay.Manifest, nil
}

func (f *File) ListRuntimes(ctx context.Context, _ string, _ bool) ([]RuntimeSummary, error) {
	if err := f.load(ctx); err != nil {
		return nil, err
	}
	return []RuntimeSummary{{Name: f.ver.Name, Versions: 1, Latest: f.ver}}, nil
}

func (f *File) ListVersions(ctx context.Context, _, name string, _ bool) ([]Version, error) {
	v, err := f.Resolve(ctx, Ref{Name: name}, false)
	if err != nil {
		return nil, err
	}
	return []Version{v}, nil
}

func (f *File) Stat(ctx context.Context, d digest.Digest) (int64, error) {
	p, err := f.blobPath(ctx, d)
	if err != nil {
		return 0, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func (f *File) Get(ctx context.Context, d digest.Digest, offset int64) (io.ReadCloser, error) {
	p, err := f.blobPath(ctx, d)
	if err != nil {
		return nil, err
	}
	in, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	if _, err := in.Seek(offset, io.SeekStart); err != nil {
		in.Close()
		return nil, err
	}
	return in, nil
}

// blobPath finds a blob: among the staged ones when the file is being
// written, else in the bundle read.
func (f *File) blobPath(ctx context.Context, d digest.Digest) (string, error) {
	f.mu.Lock()
	writing, p, ok := f.writing, "", false
	if writing {
		p, ok = f.staged[d]
	}
	f.mu.Unlock()
	if !writing {
		if err := f.load(ctx); err != nil {
			return "", err
		}
		p, ok = f.lay.Blobs[d]
	}
	if !ok {
		return "", &registry.BlobUnknownError{Digest: d}
	}
	return p, nil
}

// PrepareWrite makes the staging folder beside the file, after checking the
// file may be written.
func (f *File) PrepareWrite(_ context.Context, to Ref, overwrite bool) error {
	abs, err := filepath.Abs(f.path)
	if err != nil {
		return err
	}
	if st, err := os.Stat(abs); err == nil {
		if st.IsDir() {
			return &BadFileError{Path: f.path, Msg: "is a folder; give a file path ending in .swrt"}
		}
		if !overwrite {
			return &ExistsError{Path: f.path}
		}
	}
	stage, err := os.MkdirTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".stage-*")
	if err != nil {
		return &BadFileError{Path: f.path, Msg: "cannot write here: " + unwrapPath(err)}
	}
	f.mu.Lock()
	f.writing, f.stage, f.staged = true, stage, map[digest.Digest]string{}
	f.mu.Unlock()
	return nil
}

func (f *File) Writer(_ context.Context, desc ocispec.Descriptor) (BlobWriter, error) {
	f.mu.Lock()
	stage := f.stage
	f.mu.Unlock()
	if stage == "" {
		return nil, fmt.Errorf("%s: write a blob before PrepareWrite", f.path)
	}
	if err := desc.Digest.Validate(); err != nil {
		return nil, &registry.InvalidNameError{Kind: "digest", Value: string(desc.Digest), Reason: err.Error()}
	}
	path := filepath.Join(stage, desc.Digest.Encoded())
	out, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w := &fileBlobWriter{f: out, out: out, path: path, desc: desc, digester: digest.SHA256.Digester()}
	w.commit = func(context.Context) error {
		f.mu.Lock()
		f.staged[desc.Digest] = path
		f.mu.Unlock()
		return nil
	}
	return w, nil
}

func (f *File) PutManifest(_ context.Context, _, name string, manifest []byte, tags []string) (Version, error) {
	if len(tags) > 0 {
		return Version{}, f.unsupported("tag")
	}
	m, err := bundle.ParseManifest(manifest)
	if err != nil {
		return Version{}, err
	}
	f.mu.Lock()
	staged := f.staged
	f.mu.Unlock()
	var missing []digest.Digest
	size := int64(len(manifest))
	for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		if _, ok := staged[d.Digest]; !ok {
			missing = append(missing, d.Digest)
		}
		size += d.Size
	}
	if len(missing) > 0 {
		return Version{}, &registry.MissingBlobsError{Digests: missing}
	}
	md := digest.SHA256.FromBytes(manifest)
	v := Version{Name: name, Digest: md, Short: md.Encoded()[:12], Size: size}
	open := func(d digest.Digest) (io.ReadCloser, int64, error) {
		p, ok := staged[d]
		if !ok {
			return nil, 0, &registry.BlobUnknownError{Digest: d}
		}
		in, err := os.Open(p)
		if err != nil {
			return nil, 0, err
		}
		st, err := in.Stat()
		if err != nil {
			in.Close()
			return nil, 0, err
		}
		return in, st.Size(), nil
	}
	err = atomicfile.WriteFunc(f.path, 0o644, func(w io.Writer) error {
		return bundle.WriteSWRT(w, manifest, open, bundle.WriteOptions{RefName: v.Short})
	})
	return v, err
}

func (f *File) Tag(context.Context, Ref, []string, bool) (Version, error) {
	return Version{}, f.unsupported("tag")
}

func (f *File) Untag(context.Context, Ref, []string) (Version, error) {
	return Version{}, f.unsupported("untag")
}

func (f *File) Remove(context.Context, Ref, bool) ([]Version, error) {
	return nil, f.unsupported("remove")
}

func (f *File) Recover(context.Context, Ref) (Version, error) {
	return Version{}, f.unsupported("recover")
}

func (f *File) GC(context.Context, GCOptions) (GCStats, error) {
	return GCStats{}, f.unsupported("gc")
}

// Close removes the staging and reading folders.
func (f *File) Close() error {
	if f.stage != "" {
		_ = os.RemoveAll(f.stage)
	}
	if f.readTmp != "" {
		_ = os.RemoveAll(f.readTmp)
	}
	return nil
}

func mkdirTemp(dir, pattern string) (string, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(dir, pattern)
}

// unwrapPath is the reason of a *fs.PathError without the path (the caller
// names the file its own way).
func unwrapPath(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
