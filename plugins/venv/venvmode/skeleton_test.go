package venvmode_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/plugins/venv/venvmode"
	"github.com/swcli/swcli/sdk/testpy"
)

// TestSkeletonIsWhatVenvMakes makes bare venvs for every Python 3 here
// through the mode (the first fills the skeleton template, the second is
// a copy of it) and compares each, file by file, with what
// `python -m venv --without-pip` makes at a prefix of the same name: the
// same folders, symlinks and file modes, and the same text once the
// reference's prefix is read as the copy's. Only the template runs
// `python -m venv`; a prefix that needs shell quoting gets venv itself,
// and matches too.
func TestSkeletonIsWhatVenvMakes(t *testing.T) {
	pys := testpy.FindPythons()
	if len(pys) == 0 {
		t.Skip("no Python 3 on this machine")
	}
	for _, py := range pys {
		t.Run(py.Version, func(t *testing.T) {
			if out, err := exec.Command(py.Path, "-c", "import venv").CombinedOutput(); err != nil {
				t.Skipf("python %s has no venv: %s", py, out)
			}
			ctx := context.Background()
			var logs bytes.Buffer
			m := venvmode.New(venvmode.Options{Version: "test", Logger: hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug})})
			cacheDir := t.TempDir()
			mk := func(prefix string) {
				env := mode.Env{Prefix: prefix, Python: mode.Python{Path: py.Path, Version: py.Version}, CacheDir: cacheDir}
				require.NoError(t, m.Create(ctx, mode.CreateRequest{Env: env, Bare: true}, func(mode.Event) {}))
			}
			a := filepath.Join(t.TempDir(), "one", "venv")
			b := filepath.Join(t.TempDir(), "two", "venv")
			mk(a)
			mk(b)
			assert.Equal(t, 1, strings.Count(logs.String(), "--without-pip"), "only the template runs python -m venv:\n%s", logs.String())
			ref := filepath.Join(t.TempDir(), "ref", "venv")
			out, err := exec.Command(py.Path, "-m", "venv", "--without-pip", ref).CombinedOutput()
			require.NoError(t, err, "%s", out)
			sameTree(t, ref, a)
			sameTree(t, ref, b)
			r, err := exec.Command(filepath.Join(b, "bin", "python"), "-c", "import sys; print(sys.prefix)").Output()
			require.NoError(t, err)
			assert.Equal(t, b, strings.TrimSpace(string(r)), "the copy is a venv at its own prefix")

			spaced := filepath.Join(t.TempDir(), "with space", "venv")
			mk(spaced)
			assert.Equal(t, 2, strings.Count(logs.String(), "--without-pip"), "a prefix that needs quoting runs venv")
			sameTree(t, ref, spaced)
		})
	}
}

// sameTree compares the venv at got with the reference at want, reading
// want's prefix in the reference's texts and symlinks as got's.
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	list := func(root string) map[string]string {
		out := map[string]string{}
		require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			require.NoError(t, err)
			rel, _ := filepath.Rel(root, p)
			st, err := os.Lstat(p)
			require.NoError(t, err)
			switch {
			case d.IsDir():
				out[rel] = "dir " + st.Mode().Perm().String()
			case st.Mode()&fs.ModeSymlink != 0:
				tgt, err := os.Readlink(p)
				require.NoError(t, err)
				out[rel] = "symlink " + strings.ReplaceAll(tgt, want, got)
			default:
				b, err := os.ReadFile(p)
				require.NoError(t, err)
				out[rel] = "file " + st.Mode().Perm().String() + "\n" + strings.ReplaceAll(string(b), want, got)
			}
			return nil
		}))
		return out
	}
	w, g := list(want), list(got)
	// The reference's texts name its own prefix; read them as got's.
	for k, v := range w {
		w[k] = strings.ReplaceAll(v, want, got)
	}
	assert.Equal(t, w, g)
}

// TestFilesNeedNoPython: Files of a venv (what build packs from) and of a
// bare venv (what a restore asks before placing layers, for the ABI) answer
// from the dist-info folders and the interpreter probe cache without
// starting Python, and say what the inspect script says (Files with
// IncludeEditable runs it): the same interpreter facts and, with no
// editable installs, the same files of the same packages.
func TestFilesNeedNoPython(t *testing.T) {
	py := testpy.AnyPythons(t, 1)[0]
	ctx := context.Background()
	var logs bytes.Buffer
	m := venvmode.New(venvmode.Options{Version: "test", Logger: hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug})})
	cacheDir := t.TempDir()
	env := func(name string) mode.Env {
		return mode.Env{Prefix: filepath.Join(t.TempDir(), name), Python: mode.Python{Path: py.Path, Version: py.Version}, CacheDir: cacheDir}
	}
	full, bare := env("full"), env("bare")
	require.NoError(t, m.Create(ctx, mode.CreateRequest{Env: full}, func(mode.Event) {}))
	require.NoError(t, m.Create(ctx, mode.CreateRequest{Env: bare, Bare: true}, func(mode.Event) {}))
	const inspect = "Prints, as JSON"
	got, err := m.Files(ctx, mode.FilesRequest{Env: full})
	require.NoError(t, err)
	gotBare, err := m.Files(ctx, mode.FilesRequest{Env: bare})
	require.NoError(t, err)
	assert.Zero(t, strings.Count(logs.String(), inspect), "Files runs no Python")
	want, err := m.Files(ctx, mode.FilesRequest{Env: full, IncludeEditable: true})
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(logs.String(), inspect), "Files with IncludeEditable runs the inspect script")
	assert.NotEmpty(t, want.ABI)
	assert.NotEmpty(t, want.Packages, "pip is in the full venv")
	assert.Equal(t, want, got)
	for _, r := range []mode.FilesReport{got, gotBare} {
		assert.Equal(t, want.ABI, r.ABI)
		assert.Equal(t, want.Python, r.Python)
		assert.Equal(t, want.Platform, r.Platform)
	}
	assert.Empty(t, gotBare.Packages)
}

// TestFilesProbeTheVenvsInterpreterOnce: the interpreter a venv was made
// with is probed once, by the path it was given, even when that path is a
// link to the binary (pyenv's python3 -> python3.11): Files of the venv
// follows bin/python only to the first link out of the venv, so it finds
// that probe in the cache instead of probing the binary again by its own
// name (a Python start on every fresh machine's restore).
func TestFilesProbeTheVenvsInterpreterOnce(t *testing.T) {
	py := testpy.AnyPythons(t, 1)[0]
	ctx := context.Background()
	link := filepath.Join(t.TempDir(), "python3")
	real, err := filepath.EvalSymlinks(py.Path)
	require.NoError(t, err)
	require.NoError(t, os.Symlink(real, link))
	m := venvmode.New(venvmode.Options{Version: "test", Logger: hclog.NewNullLogger()})
	cacheDir := t.TempDir()
	env := mode.Env{Prefix: filepath.Join(t.TempDir(), "venv"), Python: mode.Python{Path: link, Version: py.Version}, CacheDir: cacheDir}
	require.NoError(t, m.Create(ctx, mode.CreateRequest{Env: env, Bare: true}, func(mode.Event) {}))
	rep, err := m.Files(ctx, mode.FilesRequest{Env: env})
	require.NoError(t, err)
	assert.NotEmpty(t, rep.ABI)
	probes, err := filepath.Glob(filepath.Join(cacheDir, "python", "entries", "probe-*"))
	require.NoError(t, err)
	assert.Len(t, probes, 1, "one probe of the interpreter: %v", probes)
}
