package main_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/sdk/testpy"
)

type dfPkg struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Source  string `json:"source"`
}

type dfDiff struct {
	A, B    struct{ Version string }
	Fields  []struct{ Field, A, B string }
	Added   []dfPkg `json:"added"`
	Removed []dfPkg `json:"removed"`
	Changed []struct {
		Name string
		A, B dfPkg
	} `json:"changed"`
	Same     int    `json:"same_packages"`
	SpecDiff string `json:"runtime_yaml_diff"`
	Layers   struct {
		Shared int   `json:"shared"`
		OnlyA  int   `json:"only_a"`
		OnlyB  int   `json:"only_b"`
		Bytes  int64 `json:"shared_bytes"`
	} `json:"layers"`
}

// TestDiffE2E builds two versions of a runtime that differ by a bumped, an
// added and a removed wheel and a runtime.yaml edit, and diffs them both
// ways, as JSON and as text, by tag and by .swrt file.
func TestDiffE2E(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)
	root := t.TempDir()
	wd := stWorkdir(t, filepath.Join(root, "wd"), "diff-rt", py.Version,
		testpy.Wheel{Name: "keep-me", Version: "1.0"}, testpy.Wheel{Name: "bump-me", Version: "1.0"}, testpy.Wheel{Name: "drop-me", Version: "1.0"})
	b0 := c.stBuildOK(wd)
	// A second workdir: a build does not uninstall what requirements.txt no
	// longer lists.
	wd = stWorkdir(t, filepath.Join(root, "wd2"), "diff-rt", py.Version,
		testpy.Wheel{Name: "keep-me", Version: "1.0"}, testpy.Wheel{Name: "bump-me", Version: "2.0"}, testpy.Wheel{Name: "new-one", Version: "0.1"})
	b1 := c.stBuildOK(wd)
	require.NotEqual(t, b0.Version, b1.Version)

	d := stJSON[dfDiff](t, c.ok("-o", "json", "runtime", "diff", "diff-rt/version/v0", "diff-rt/version/v1").stdout)
	assert.Equal(t, b0.Version, d.A.Version)
	assert.Equal(t, b1.Version, d.B.Version)
	assert.Empty(t, d.Fields, "same python, mode and platform")
	require.Len(t, d.Added, 1)
	assert.Equal(t, "new-one", d.Added[0].Name)
	require.Len(t, d.Removed, 1)
	assert.Equal(t, "drop-me", d.Removed[0].Name)
	require.Len(t, d.Changed, 1)
	assert.Equal(t, "bump-me", d.Changed[0].Name)
	assert.Equal(t, "1.0", d.Changed[0].A.Version)
	assert.Equal(t, "2.0", d.Changed[0].B.Version)
	assert.GreaterOrEqual(t, d.Same, 2, "keep-me and pip's own packages")
	assert.Empty(t, d.SpecDiff, "runtime.yaml was written the same")
	assert.Positive(t, d.Layers.Shared, "the base and keep-me layers are shared")
	assert.Positive(t, d.Layers.Bytes)
	assert.Positive(t, d.Layers.OnlyA)
	assert.Positive(t, d.Layers.OnlyB)

	// Reversed: added and removed swap.
	r := stJSON[dfDiff](t, c.ok("-o", "json", "runtime", "diff", "diff-rt/version/"+b1.Version, "diff-rt/version/"+b0.Version).stdout)
	require.Len(t, r.Added, 1)
	assert.Equal(t, "drop-me", r.Added[0].Name)

	// A runtime.yaml change shows as a unified diff, in text and JSON; one
	// side may be a .swrt file.
	write(t, filepath.Join(wd, "runtime.yaml"), "mode: venv\nname: diff-rt\npython_version: \""+py.Version+"\"\n# a comment\n")
	c.stBuildOK(wd, "-t", "commented")
	swrt := filepath.Join(root, "v1.swrt")
	c.ok("runtime", "copy", "diff-rt/version/v1", swrt)
	txt := c.ok("runtime", "diff", swrt, "diff-rt/version/commented").stdout
	assert.Contains(t, txt, "+# a comment\n")
	assert.Contains(t, txt, "packages: 0 added, 0 removed, 0 changed")
	assert.Contains(t, txt, "layers: ")
	assert.Contains(t, c.ok("runtime", "diff", "diff-rt/version/v0", "diff-rt/version/v1").stdout, "~ bump-me: 1.0")

	// Bad input: one line naming what was given.
	c.fail([]string{"give two runtime URIs", "got 1"}, "runtime", "diff", "diff-rt")
	c.fail([]string{"nope"}, "runtime", "diff", "diff-rt", "diff-rt/version/nope")
}
