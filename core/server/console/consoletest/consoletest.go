// Package consoletest builds real runtime versions into a registry for the
// console's tests and benchmarks: a snapshot layer holding runtime.yaml and
// one package layer per locked package, packed by core/bundle, with a
// runtime manifest (core/workflow) as the config blob, stored with
// registry.PutVersion. It owns nothing else.
package consoletest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/workflow"
)

// Runtime is one version to build.
type Runtime struct {
	Project, Name string
	// YAML is the runtime.yaml of the snapshot.
	YAML string
	// Python is X.Y.Z; 3.11.4 when empty.
	Python   string
	Packages []mode.LockedPackage
	Tags     []string
}

// Builder packs layers in Dir (a scratch folder) and stores versions in
// Reg; a package layer is packed once and shared by every version that
// locks the same name and version, as a real build shares it.
type Builder struct {
	Reg    *registry.Registry
	Dir    string
	layers map[string]ocispec.Descriptor
}

// Build stores rt as a version and returns it.
func (b *Builder) Build(ctx context.Context, rt Runtime) (registry.Version, error) {
	if b.layers == nil {
		b.layers = map[string]ocispec.Descriptor{}
	}
	python := rt.Python
	if python == "" {
		python = "3.11.4"
	}
	snap, err := b.layer(ctx, bundle.RoleSnapshot, "", map[string]string{"runtime.yaml": rt.YAML})
	if err != nil {
		return registry.Version{}, err
	}
	layers := []ocispec.Descriptor{snap}
	for _, p := range rt.Packages {
		key := p.Name + "==" + p.Version
		l, ok := b.layers[key]
		if !ok {
			mod := strings.ReplaceAll(strings.ToLower(p.Name), "-", "_")
			if l, err = b.layer(ctx, bundle.RolePackage, key, map[string]string{
				"lib/python3/site-packages/" + mod + "/__init__.py": "__version__ = " + fmt.Sprintf("%q", p.Version) + "\n",
			}); err != nil {
				return registry.Version{}, err
			}
			b.layers[key] = l
		}
		layers = append(layers, l)
	}
	spec, err := json.Marshal(map[string]string{"name": rt.Name, "mode": "venv"})
	if err != nil {
		return registry.Version{}, err
	}
	short := python[:strings.LastIndexByte(python, '.')]
	cfg, err := json.Marshal(workflow.Manifest{Schema: workflow.ManifestSchema, Name: rt.Name, Mode: "venv",
		Python: python, PythonVersion: short, OS: "linux", Arch: "amd64", Platform: "linux-x86_64",
		ABI: "cp" + strings.ReplaceAll(short, ".", ""), SpecFile: "runtime.yaml", Spec: spec, Lock: rt.Packages,
		SwcliVersion: "test"})
	if err != nil {
		return registry.Version{}, err
	}
	cd := bundle.ConfigDescriptor(cfg)
	if _, err := b.Reg.PutBlob(ctx, bytes.NewReader(cfg), cd.Digest); err != nil {
		return registry.Version{}, err
	}
	m, err := bundle.Manifest(cd, layers, nil)
	if err != nil {
		return registry.Version{}, err
	}
	return b.Reg.PutVersion(ctx, rt.Project, rt.Name, m, rt.Tags)
}

// layer packs files (relative path to content) into a layer blob.
func (b *Builder) layer(ctx context.Context, role, pkg string, files map[string]string) (ocispec.Descriptor, error) {
	root, err := os.MkdirTemp(b.Dir, "layer-")
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer os.RemoveAll(root)
	var paths []string
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return ocispec.Descriptor{}, err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return ocispec.Descriptor{}, err
		}
		paths = append(paths, rel)
	}
	var buf bytes.Buffer
	info, err := bundle.PackLayer(ctx, &buf, root, paths, bundle.PackOptions{})
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if _, err := b.Reg.PutBlob(ctx, &buf, info.Digest); err != nil {
		return ocispec.Descriptor{}, err
	}
	return bundle.LayerDescriptor(info, role, pkg), nil
}

// Packages returns n locked packages pkg-0 ... pkg-(n-1) at version
// "1.<rev>", from an index, with a made-up sha256 each.
func Packages(n, rev int) []mode.LockedPackage {
	out := make([]mode.LockedPackage, n)
	for i := range out {
		out[i] = mode.LockedPackage{Name: fmt.Sprintf("pkg-%d", i), Version: fmt.Sprintf("1.%d", rev), Installer: "pip",
			Hashes: []string{fmt.Sprintf("sha256:%064x", i*1000+rev)}}
	}
	return out
}
