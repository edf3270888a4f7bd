package workflow

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/instance/remote"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/uri"
)

// Ref is a runtime version reference.
type Ref = instance.Ref

// ParseRef parses a URI naming a runtime (and maybe a version) on the local
// instance, for the workflows that need the version's files here (restore,
// run, activate). A missing version means latest.
func ParseRef(s string) (Ref, error) {
	u, err := uri.Parse(s)
	if err != nil {
		return Ref{}, err
	}
	if u.Artifact != "" && u.Artifact != uri.ArtifactRuntime {
		return Ref{}, usagef("%q names a %s; a runtime is needed", s, u.Artifact)
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

// Instances opens the places URIs name (the local instance under
// StorageRoot, .swrt files, later cloud instances). One per Service.
func (s *Service) Instances() *instance.Opener {
	s.openerOnce.Do(func() {
		s.opener = &instance.Opener{StorageRoot: s.StorageRoot, ReadConfig: ReadConfigName, OpenStore: s.OpenStore, Remote: remote.Open}
	})
	return s.opener
}

// ReadConfigName checks a bundle's config blob is a runtime manifest this
// swcli reads, and gives the runtime's name.
func ReadConfigName(config []byte) (string, error) {
	m, err := ParseManifest(config)
	if err != nil {
		return "", err
	}
	return m.Name, nil
}

// Resolve finds a version in the local instance.
func (s *Service) Resolve(ctx context.Context, ref Ref) (*instance.Local, registry.Version, error) {
	l, err := s.Instances().Local()
	if err != nil {
		return nil, registry.Version{}, err
	}
	v, err := l.Resolve(ctx, ref, false)
	return l, v, err
}

// Info loads a version's manifests from any place.
func (s *Service) Info(ctx context.Context, p instance.Place, ref Ref) (*Bundle, error) {
	v, err := p.Resolve(ctx, ref, false)
	if err != nil {
		return nil, err
	}
	return LoadBundle(ctx, p, v)
}

// SnapshotFile reads one file of a version's snapshot layer (runtime.yaml,
// a lock file).
func (s *Service) SnapshotFile(ctx context.Context, p instance.Place, b *Bundle, rel string) ([]byte, error) {
	snaps := b.Layers(bundle.RoleSnapshot)
	if len(snaps) != 1 {
		return nil, fmt.Errorf("version %s has %d snapshot layers, want 1", b.Version.Short, len(snaps))
	}
	tmp, err := mkdirTemp(filepath.Join(s.StorageRoot, "tmp"), "snapshot-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := extractBlob(ctx, p, snaps[0], tmp); err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(tmp, filepath.FromSlash(rel)))
}

// Export writes version ref of the local instance as the .swrt file at path
// (replacing one that is there), through instance.Copy.
func (s *Service) Export(ctx context.Context, ref Ref, path string) (registry.Version, error) {
	l, err := s.Instances().Local()
	if err != nil {
		return registry.Version{}, err
	}
	f := instance.OpenFile(path, l.TempDir(), ReadConfigName)
	defer f.Close()
	res, err := instance.Copy(ctx, l, ref, f, instance.Ref{}, instance.CopyOptions{Force: true})
	return res.From, err
}
