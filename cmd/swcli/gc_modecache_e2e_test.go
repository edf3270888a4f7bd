package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/workflow"
)

// TestGCModeCachesOfMissingInterpreters: create with a Python reached
// through a symlink of its own (an interpreter this machine may lose)
// fills the venv mode's caches (interpreter probe, venv skeleton, pip
// seed) for it. gc keeps them while it exists; once it is gone,
// `gc --dry-run` shows their size, gc frees exactly that, and they are
// gone. The caches of the interpreters that still exist stay.
func TestGCModeCachesOfMissingInterpreters(t *testing.T) {
	py := pythons(t)[0]
	c := newCLI(t)
	gc := func(args ...string) workflow.GCStats {
		t.Helper()
		r := c.ok(append([]string{"-o", "json", "runtime", "gc"}, args...)...)
		var st workflow.GCStats
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &st), r.String())
		return st
	}
	// One create with the real interpreter: its entries must survive.
	c.ok("runtime", "create", "--name", "gc-real", "--python", py.Path, filepath.Join(t.TempDir(), "real"))
	link := filepath.Join(t.TempDir(), "lost python", "python3")
	require.NoError(t, os.MkdirAll(filepath.Dir(link), 0o755))
	require.NoError(t, os.Symlink(py.Path, link))
	c.ok("runtime", "create", "--name", "gc-lost", "--python", link, filepath.Join(t.TempDir(), "lost"))

	assert.Zero(t, gc("--dry-run").ModeCaches.Entries, "both interpreters exist")
	require.NoError(t, os.Remove(link))
	dry := gc("--dry-run")
	assert.GreaterOrEqual(t, dry.ModeCaches.Entries, 2, "the probe and the pip seed of the lost interpreter at least")
	assert.Greater(t, dry.ModeCaches.Bytes, int64(1<<20), "the pip seed holds pip")
	assert.Contains(t, c.ok("runtime", "gc", "--dry-run").stdout, "mode caches: freed ")
	assert.Equal(t, dry.ModeCaches, gc().ModeCaches, "gc frees what --dry-run showed")
	assert.Zero(t, gc("--dry-run").ModeCaches.Entries, "nothing left to free")

	seeds, err := filepath.Glob(filepath.Join(c.home, "storage", "cache", "modes", "venv-seed", "entries", "*"))
	require.NoError(t, err)
	assert.Len(t, seeds, 1, "the seed of the interpreter that exists stays")
	c.ok("runtime", "create", "--name", "gc-again", "--python", py.Path, filepath.Join(t.TempDir(), "again"))
}
