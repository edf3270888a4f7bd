package main_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/sdk/testpy"
)

// TestListFlagsE2E: `runtime list` as Starwhale lists (a row a version,
// -fl name=PREFIX, -fl latest, --show-removed rows, --page/--size), flags
// before and after the positional, and `runtime copy -i TAG`.
func TestListFlagsE2E(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)
	wd := stWorkdir(t, filepath.Join(t.TempDir(), "wd"), "list-a", py.Version, testpy.Wheel{Name: "tiny-l", Version: "1.0"})
	a0 := c.stBuildOK(wd, "--lock-only")
	stAppendReq(t, wd, "# one")
	a1 := c.stBuildOK(wd, "--lock-only", "-t", "keep", "-t", "skip")
	stAppendReq(t, wd, "# two")
	a2 := c.stBuildOK(wd, "--lock-only")
	c.ok("runtime", "copy", "list-a/version/v0", "local/project/self/runtime/zz-other")

	rows := func(args ...string) []stVersion {
		t.Helper()
		return stJSON[[]stVersion](t, c.ok(append([]string{"-o", "json", "runtime", "list"}, args...)...).stdout)
	}
	names := func(vs []stVersion) (out []string) {
		for _, v := range vs {
			out = append(out, v.Name+"@"+v.Short)
		}
		return out
	}
	all := rows()
	assert.Equal(t, []string{"list-a@" + a2.Version, "list-a@" + a1.Version, "list-a@" + a0.Version, "zz-other@" + a0.Version}, names(all))
	assert.Equal(t, []string{"zz-other@" + a0.Version}, names(rows("-fl", "name=zz")))
	assert.Equal(t, []string{"zz-other@" + a0.Version}, names(rows("project/self", "-fl", "name=zz")), "-fl after the positional")
	assert.Equal(t, []string{"list-a@" + a2.Version, "zz-other@" + a0.Version}, names(rows("--filter", "latest")))
	assert.Equal(t, []string{"list-a@" + a2.Version}, names(rows("-fl", "latest", "-fl", "name=list")))
	assert.Equal(t, []string{"list-a@" + a0.Version, "zz-other@" + a0.Version}, names(rows("--page", "2", "--size", "2")))
	assert.Empty(t, rows("--page", "3", "--size", "2"))
	txt := c.ok("runtime", "list", "--size", "3").stdout
	assert.Contains(t, txt, "page 1 of 2 (4 rows")
	assert.Contains(t, txt, a2.Version)
	assert.NotContains(t, txt, "zz-other")

	// --show-removed: each removed version is its own row.
	c.ok("runtime", "remove", "list-a/version/"+a1.Version)
	assert.NotContains(t, names(rows()), "list-a@"+a1.Version)
	rm := rows("--show-removed", "-fl", "name=list-a")
	require.Len(t, rm, 3)
	assert.True(t, rm[1].Removed && rm[1].Short == a1.Version, "%v", rm)
	assert.Contains(t, c.ok("runtime", "list", "-sr").stdout, "removed")
	c.ok("runtime", "recover", "list-a/version/"+a1.Version)

	// Bad input: one line naming what was given and what is allowed.
	c.fail([]string{`"owner=me"`, "name=PREFIX, latest"}, "runtime", "list", "-fl", "owner=me")
	c.fail([]string{`"name="`, "name=PREFIX, latest"}, "runtime", "list", "project/self", "-fl", "name=")
	c.fail([]string{"--page 0"}, "runtime", "list", "--page", "0")

	// copy -i: the ignored tag stays behind, the others come along.
	cp := stJSON[stVersion](t, c.ok("-o", "json", "runtime", "copy", "list-a/version/keep", "local/project/other", "-i", "skip").stdout)
	assert.Contains(t, cp.Tags, "keep")
	assert.NotContains(t, cp.Tags, "skip")
	cp = stJSON[stVersion](t, c.ok("-o", "json", "runtime", "copy", "-i", "keep", "-i", "skip", "list-a/version/keep", "local/project/third").stdout)
	assert.NotContains(t, cp.Tags, "keep")
	assert.NotContains(t, cp.Tags, "skip")
}
