package workflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/uri"
)

// Ref is a runtime version reference in the local store.
type Ref struct {
	Project, Name, Version string
}

// ParseRef parses a URI naming a runtime (and maybe a version) on the local
// instance. A missing version means latest.
func ParseRef(s string) (Ref, error) {
	u, err := uri.Parse(s)
	if err != nil {
		return Ref{}, err
	}
	if u.Kind() == uri.KindFile || u.Kind() == uri.KindProject {
		return Ref{}, usagef("%q names a %s; a runtime is needed (NAME, NAME/version/VERSION or [INSTANCE/]project/P/runtime/NAME[/version/V])", s, u.Kind())
	}
	if !u.IsLocal() {
		return Ref{}, usagef("%q is on instance %s; this command works on the local instance (copy it first: swcli runtime copy)", s, u.Instance)
	}
	v := u.Version
	if v == "" {
		v = "latest"
	}
	return Ref{Project: u.Project, Name: u.Name, Version: v}, nil
}

// Resolve finds a version.
func (s *Service) Resolve(ctx context.Context, ref Ref, opts ...registry.ResolveOption) (*registry.Registry, registry.Version, error) {
	reg, _, err := s.Local()
	if err != nil {
		return nil, registry.Version{}, err
	}
	v, err := reg.Resolve(ctx, ref.Project, ref.Name, ref.Version, opts...)
	return reg, v, err
}

// Info loads a stored version's manifests.
func (s *Service) Info(ctx context.Context, ref Ref) (*Bundle, error) {
	reg, v, err := s.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	return LoadBundle(ctx, reg, v)
}

// SnapshotFile reads one file of a version's snapshot layer (runtime.yaml,
// a lock file).
func (s *Service) SnapshotFile(ctx context.Context, b *Bundle, rel string) ([]byte, error) {
	reg, _, err := s.Local()
	if err != nil {
		return nil, err
	}
	snaps := b.Layers(bundle.RoleSnapshot)
	if len(snaps) != 1 {
		return nil, fmt.Errorf("version %s has %d snapshot layers, want 1", b.Version.Short, len(snaps))
	}
	tmp, err := mkdirTemp(filepath.Join(s.StorageRoot, "tmp"), "snapshot-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := extractBlob(ctx, reg, snaps[0], tmp); err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(tmp, filepath.FromSlash(rel)))
}

// Export writes a version as a .swrt file, atomically.
func (s *Service) Export(ctx context.Context, ref Ref, file string) (registry.Version, error) {
	reg, v, err := s.Resolve(ctx, ref)
	if err != nil {
		return v, err
	}
	raw, err := reg.Manifest(ctx, v)
	if err != nil {
		return v, err
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return v, err
	}
	if st, err := os.Stat(abs); err == nil && st.IsDir() {
		return v, usagef("%s is a folder; give a file path ending in .swrt", file)
	}
	f, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp-*")
	if err != nil {
		return v, err
	}
	defer os.Remove(f.Name())
	s.stage("write "+filepath.Base(file), 0, 0)
	open := func(d digest.Digest) (io.ReadCloser, int64, error) { return reg.GetBlob(ctx, d) }
	if err := bundle.WriteSWRT(f, raw, open, bundle.WriteOptions{RefName: v.Short}); err != nil {
		f.Close()
		return v, err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return v, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return v, err
	}
	if err := f.Close(); err != nil {
		return v, err
	}
	return v, os.Rename(f.Name(), abs)
}

// Import reads a .swrt file into project, verifying everything before the
// store is touched: a bad file leaves the store as it was.
func (s *Service) Import(ctx context.Context, file, project string, tags []string) (registry.Version, error) {
	if err := registry.CheckUserTags(tags); err != nil {
		return registry.Version{}, usagef("-t: %v", err)
	}
	reg, fsStore, err := s.Local()
	if err != nil {
		return registry.Version{}, err
	}
	f, err := os.Open(file)
	if err != nil {
		return registry.Version{}, usagef("cannot open bundle %s: %v", file, errors.Unwrap(err))
	}
	defer f.Close()
	tmp, err := os.MkdirTemp(fsStore.TempDir(), "import-")
	if err != nil {
		return registry.Version{}, err
	}
	defer os.RemoveAll(tmp)
	s.stage("read "+filepath.Base(file), 0, 0)
	lay, err := bundle.ReadSWRT(ctx, f, tmp, bundle.DefaultLimits)
	if err != nil {
		return registry.Version{}, fmt.Errorf("%s: %w", file, err)
	}
	rm, err := ParseManifest(lay.Config)
	if err != nil {
		return registry.Version{}, fmt.Errorf("%s: %w", file, err)
	}
	// Check every layer fully (decompress, refuse hostile entries) before
	// anything is stored: a bundle that cannot be restored is not imported.
	m, err := bundle.ParseManifest(lay.Manifest)
	if err != nil {
		return registry.Version{}, fmt.Errorf("%s: %w", file, err)
	}
	for _, l := range m.Layers {
		if err := checkLayer(ctx, lay.Blobs[l.Digest], l, tmp); err != nil {
			return registry.Version{}, fmt.Errorf("%s: layer %s: %w", file, l.Digest.Encoded()[:12], err)
		}
	}
	for d, p := range lay.Blobs {
		if d == lay.ManifestDigest {
			continue
		}
		if _, err := reg.PutBlobFile(ctx, p, d, true); err != nil {
			return registry.Version{}, err
		}
	}
	return reg.PutVersion(ctx, project, rm.Name, lay.Manifest, tags)
}

// checkLayer extracts a layer into a scratch folder and throws it away: the
// reader's checks are the point.
func checkLayer(ctx context.Context, path string, d ocispec.Descriptor, tmp string) error {
	scratch, err := os.MkdirTemp(tmp, "check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	_, err = bundle.ExtractLayerFile(ctx, path, scratch, extractOptions(d))
	return err
}

// WriteDefaultProject is the project used when a copy target names none.
func defaultProject(p string) string {
	if p == "" {
		return instance.DefaultProject
	}
	return strings.TrimSpace(p)
}
