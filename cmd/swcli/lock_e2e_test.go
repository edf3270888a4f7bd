package main_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/sdk/testpy"
)

// TestLockE2E: `runtime lock` of a workdir (files written, --stdout), of an
// existing venv (-v, -s; it stays as it was), and its bad inputs.
func TestLockE2E(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)
	root := t.TempDir()
	wd := stWorkdir(t, filepath.Join(root, "wd"), "lock-rt", py.Version, testpy.Wheel{Name: "tiny-k", Version: "2.2"})
	c.fail([]string{"has no venv environment", "swcli runtime create"}, "runtime", "lock", wd)
	c.ok("runtime", "create", wd)
	r := c.ok("runtime", "lock", wd)
	assert.Contains(t, r.stdout, "locked the venv environment")
	files, err := filepath.Glob(filepath.Join(wd, ".starwhale", "lock", "*"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	data, err := os.ReadFile(files[0])
	require.NoError(t, err)
	assert.Contains(t, string(data), "tiny_k-2.2")
	out := c.ok("runtime", "lock", wd, "--stdout").stdout
	assert.Contains(t, out, "tiny_k-2.2")
	h := stJSON[struct {
		Packages int `json:"packages"`
		Files    []struct {
			Name string `json:"name"`
		} `json:"files"`
	}](t, c.ok("-o", "json", "runtime", "lock", "--stdout", wd).stdout)
	assert.Positive(t, h.Packages)
	assert.NotEmpty(t, h.Files)

	prefix := feVenv(t, c, py, filepath.Join(root, "outside"), testpy.Wheel{Name: "tiny-o", Version: "0.5"})
	before := contentHash(t, prefix)
	out = c.ok("runtime", "lock", "-v", prefix, "--stdout").stdout
	assert.Contains(t, out, "tiny-o")
	assert.NotContains(t, out, "tiny-k")
	c.setenv("VIRTUAL_ENV=" + prefix)
	cwd := filepath.Join(root, "cwd")
	require.NoError(t, os.MkdirAll(cwd, 0o755))
	r = c.runAt(cwd, "", "runtime", "lock", "-s")
	require.Equal(t, 0, r.code, "%s", r)
	written, _ := filepath.Glob(filepath.Join(cwd, ".starwhale", "lock", "*"))
	require.NotEmpty(t, written, "-s writes under the current folder")
	c.setenv("VIRTUAL_ENV=")
	assert.Equal(t, before, contentHash(t, prefix), "lock does not change the env")

	c.fail([]string{"WORKDIR " + wd + " and -v/--venv conflict"}, "runtime", "lock", wd, "-v", prefix)
	c.fail([]string{"-s/--shell: no environment is active"}, "runtime", "lock", "-s", "--stdout")
	c.fail([]string{"--venv " + wd + " is not a venv"}, "runtime", "lock", "-v", wd)
}
