package workflow

import (
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/registry"
)

func diffBundle(short, python string, lock []mode.LockedPackage, layers ...string) *Bundle {
	m := &ocispec.Manifest{}
	for _, l := range layers {
		m.Layers = append(m.Layers, ocispec.Descriptor{Digest: digest.FromString(l), Size: int64(len(l))})
	}
	return &Bundle{Version: registry.Version{Short: short}, OCI: m,
		Manifest: &Manifest{Name: "rt", Mode: "venv", Python: python, OS: "linux", Arch: "amd64", SpecFile: "runtime.yaml", Lock: lock}}
}

func TestDiffBundles(t *testing.T) {
	pip := func(n, v, src string) mode.LockedPackage {
		return mode.LockedPackage{Name: n, Version: v, Installer: "pip", Source: src}
	}
	a := diffBundle("aaaa", "3.10.4", []mode.LockedPackage{pip("Same_Pkg", "1.0", ""), pip("gone", "2.0", ""),
		pip("bumped", "1.0", ""), pip("moved", "1.0", "")}, "snapA", "base", "pkg-same")
	b := diffBundle("bbbb", "3.11.2", []mode.LockedPackage{pip("same-pkg", "1.0", ""), pip("new", "0.1", ""),
		pip("bumped", "1.1", ""), pip("moved", "1.0", "wheels/moved-1.0-py3-none-any.whl")}, "snapB", "base", "pkg-same", "pkg-new")
	d := DiffBundles(a, []byte("name: rt\npython_version: \"3.10\"\n"), b, []byte("name: rt\npython_version: \"3.11\"\n"))

	assert.Equal(t, []FieldChange{{Field: "python", A: "3.10.4", B: "3.11.2"}}, d.Fields)
	assert.Equal(t, 1, d.Same, "Same_Pkg and same-pkg are one distribution (PEP 503 names)")
	require.Len(t, d.Added, 1)
	assert.Equal(t, "new", d.Added[0].Name)
	require.Len(t, d.Removed, 1)
	assert.Equal(t, "gone", d.Removed[0].Name)
	require.Len(t, d.Changed, 2)
	assert.Equal(t, "bumped", d.Changed[0].Name)
	assert.Equal(t, "1.1", d.Changed[0].B.Version)
	assert.Equal(t, "moved", d.Changed[1].Name, "a changed source is a change")
	assert.Equal(t, LayerDiff{Shared: 2, SharedBytes: int64(len("base") + len("pkg-same")),
		OnlyA: 1, OnlyABytes: int64(len("snapA")), OnlyB: 2, OnlyBBytes: int64(len("snapB") + len("pkg-new"))}, d.Layers)
	assert.True(t, strings.HasPrefix(d.SpecDiff, "--- aaaa/runtime.yaml\n+++ bbbb/runtime.yaml\n"), d.SpecDiff)
	assert.Contains(t, d.SpecDiff, "-python_version: \"3.10\"\n+python_version: \"3.11\"\n")
	assert.False(t, d.Empty())

	same := DiffBundles(a, []byte("x\n"), a, []byte("x\n"))
	assert.True(t, same.Empty())
	assert.Equal(t, "", same.SpecDiff)
	assert.Equal(t, 3, same.Layers.Shared)
	assert.NotNil(t, same.Added)
}
