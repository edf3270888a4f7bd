package envpack_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/envpack"
)

// walkDirEntries is what Walk gives, made the plain serial way.
func walkDirEntries(t *testing.T, prefix string) []envpack.TreeEntry {
	t.Helper()
	var out []envpack.TreeEntry
	err := filepath.WalkDir(prefix, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		fi, err := d.Info()
		require.NoError(t, err)
		rel := ""
		if p != prefix {
			r, err := filepath.Rel(prefix, p)
			require.NoError(t, err)
			rel = filepath.ToSlash(r)
		}
		skip := d.IsDir() && d.Name() == "__pycache__" && p != prefix
		out = append(out, envpack.TreeEntry{Rel: rel, Info: fi, Skipped: skip})
		if skip {
			return filepath.SkipDir
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// TestWalkIsWalkDir: the parallel walk gives exactly filepath.WalkDir's
// entries in its order (names that sort around "/", deep and wide
// folders, symlinks not followed, __pycache__ content left out), and Stat
// answers from it.
func TestWalkIsWalkDir(t *testing.T) {
	prefix := t.TempDir()
	mk := func(rel, content string) {
		p := filepath.Join(prefix, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	for i := 0; i < 40; i++ {
		for j := 0; j < 5; j++ {
			mk(fmt.Sprintf("lib/python3.11/site-packages/pkg%02d/sub%d/mod.py", i, j), "x")
		}
		mk(fmt.Sprintf("lib/python3.11/site-packages/pkg%02d/__pycache__/mod.cpython-311.pyc", i), "pyc")
		mk(fmt.Sprintf("lib/python3.11/site-packages/pkg%02d-1.0.dist-info/RECORD", i), "r")
	}
	mk("bin/a", "a")
	mk("bin/a.b", "ab")
	mk("bin/a-b", "ab")
	mk("bin/a/../c", "c") // bin/c
	require.NoError(t, os.Symlink("lib", filepath.Join(prefix, "lib64")))
	require.NoError(t, os.Symlink("/nowhere", filepath.Join(prefix, "bin", "dangling")))
	deep := "d"
	for i := 0; i < 30; i++ {
		deep += "/d"
	}
	mk(deep+"/leaf", "l")

	// Modes beyond the permissions (os's Mode of them is what lstatAt must
	// give too).
	require.NoError(t, os.Chmod(filepath.Join(prefix, "bin"), 0o755|fs.ModeSticky))
	require.NoError(t, os.Chmod(filepath.Join(prefix, "bin", "a.b"), 0o755|fs.ModeSetgid|fs.ModeSetuid))

	want := walkDirEntries(t, prefix)
	tree, err := envpack.Walk(prefix)
	require.NoError(t, err)
	require.Len(t, tree.Entries, len(want))
	for i, w := range want {
		g := tree.Entries[i]
		require.Equal(t, w.Rel, g.Rel, "entry %d", i)
		assert.Equal(t, w.Skipped, g.Skipped, w.Rel)
		assert.Equal(t, w.Info.Mode(), g.Info.Mode(), w.Rel)
		assert.Equal(t, w.Info.Size(), g.Info.Size(), w.Rel)
		assert.Equal(t, w.Info.ModTime(), g.Info.ModTime(), w.Rel)
		ws, gs := w.Info.Sys().(*syscall.Stat_t), g.Info.Sys().(*syscall.Stat_t)
		assert.Equal(t, []uint64{ws.Dev, ws.Ino, uint64(ws.Nlink)}, []uint64{gs.Dev, gs.Ino, uint64(gs.Nlink)}, w.Rel)
		assert.Equal(t, w.Info.IsDir(), g.Info.IsDir(), w.Rel)
		assert.NotNil(t, tree.Stat(w.Rel), w.Rel)
	}
	assert.Nil(t, tree.Stat("lib/python3.11/site-packages/pkg00/__pycache__/mod.cpython-311.pyc"), "left out")

	_, err = envpack.Walk(filepath.Join(prefix, "missing"))
	require.Error(t, err)
	require.NoError(t, os.Chmod(filepath.Join(prefix, "bin"), 0o000))
	defer os.Chmod(filepath.Join(prefix, "bin"), 0o755)
	if os.Geteuid() != 0 {
		_, err = envpack.Walk(prefix)
		require.Error(t, err, "an unreadable folder fails the walk")
	}
}
