package venvmode_test

import (
	"archive/zip"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/plugins/venv/venvmode"
	"github.com/swcli/swcli/sdk/testpy"
)

// TestLockReadsDistsAsTheScript checks that what Lock reads of a plain venv
// in Go is, field for field, what the inspect script prints (the fixture:
// hello-tool from a wheel file, with its direct_url.json and hashes, and
// dep-lib from a wheel folder, and pip); and that an environment holding
// what only the script reads right (a .pth file adding a folder, an
// .egg-link, an .egg-info) is left to the script, whose lock then names
// the distribution found there.
func TestLockReadsDistsAsTheScript(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env, py := built(t)
	m := newMode()
	g, ok, p, err := venvmode.LockInfos(ctx, m, env)
	require.NoError(t, err)
	require.True(t, ok, "a plain venv is read in Go")
	assert.JSONEq(t, p, g)
	assert.Contains(t, g, `"name":"hello-tool"`)
	assert.Contains(t, g, `"name":"dep-lib"`)

	// Another venv, then what the script alone reads.
	other := mode.Env{Workdir: t.TempDir(), Prefix: filepath.Join(t.TempDir(), "other"), Python: mode.Python{Path: py.Path}}
	create(t, m, other)
	site := filepath.Join(other.Prefix, "lib", "python"+py.Version, "site-packages")
	_, ok, _, err = venvmode.LockInfos(ctx, m, other)
	require.NoError(t, err)
	require.True(t, ok)

	extra := t.TempDir()
	whl, err := testpy.BuildWheel(extra, testpy.Wheel{Name: "side-pkg", Version: "3.1"})
	require.NoError(t, err)
	// Unpacked by hand into a folder that a .pth file puts on the path.
	lib := filepath.Join(extra, "lib")
	unzip(t, whl, lib)
	for _, c := range []struct{ name, content string }{
		{"side.pth", lib + "\n"},
		{"x.egg-link", lib + "\n.\n"},
		{"old_pkg-1.0-py3.11.egg-info", ""},
	} {
		p := filepath.Join(site, c.name)
		if c.content == "" {
			require.NoError(t, os.Mkdir(p, 0o755))
		} else {
			require.NoError(t, os.WriteFile(p, []byte(c.content), 0o644))
		}
		_, ok, _, err := venvmode.LockInfos(ctx, m, other)
		require.NoError(t, err)
		assert.False(t, ok, "%s is left to the inspect script", c.name)
		require.NoError(t, os.RemoveAll(p))
	}
	require.NoError(t, os.WriteFile(filepath.Join(site, "side.pth"), []byte(lib+"\n"), 0o644))
	lock, err := m.Lock(ctx, mode.LockRequest{Env: other}, nil)
	require.NoError(t, err)
	assert.Contains(t, names(lock), "side-pkg==3.1")
}

// unzip extracts the zip file (a wheel) into dir.
func unzip(t *testing.T, file, dir string) {
	t.Helper()
	r, err := zip.OpenReader(file)
	require.NoError(t, err)
	defer r.Close()
	for _, f := range r.File {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		rc, err := f.Open()
		require.NoError(t, err)
		data, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, data, 0o644))
	}
}
