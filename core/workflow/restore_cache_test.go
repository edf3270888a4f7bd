package workflow

import (
	"archive/tar"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/layercache"
	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/internal/linkfile"
)

// TestRestoreLinksCachedLayers restores one version into three targets
// with hardlinks: the second reads no env layer blob (they come from the
// layer cache) and shares the package file's inode with the first, while
// the file relocation rewrites is each target's own; a cached file damaged
// between restores is unpacked again, not linked.
func TestRestoreLinksCachedLayers(t *testing.T) {
	f := rsNewFixture(t)
	f.svc.LinkMode = linkfile.Hardlink
	a, b, c := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b"), filepath.Join(t.TempDir(), "c")
	_, err := f.restore(a, false, false)
	require.NoError(t, err)
	assert.Equal(t, int32(3), f.opened.Load(), "first restore: snapshot, base and package layers")
	_, err = f.restore(b, false, false)
	require.NoError(t, err)
	assert.Equal(t, int32(4), f.opened.Load(), "second restore reads only the snapshot")

	pkg := filepath.Join(".starwhale", "venv", "lib", "rs_pkg.py")
	tool := filepath.Join(".starwhale", "venv", "bin", "rs-tool")
	sa, err := os.Stat(filepath.Join(a, pkg))
	require.NoError(t, err)
	sb, err := os.Stat(filepath.Join(b, pkg))
	require.NoError(t, err)
	assert.True(t, os.SameFile(sa, sb), "package files are linked from the cache")
	assert.Zero(t, sb.Mode().Perm()&0o222, "a hardlinked cache file is read-only")
	ta, _ := os.Stat(filepath.Join(a, tool))
	tb, _ := os.Stat(filepath.Join(b, tool))
	assert.False(t, os.SameFile(ta, tb), "files relocation rewrites are the environment's own")

	st, err := layercache.New(f.svc.StorageRoot, linkfile.Auto, nil).Stats()
	require.NoError(t, err)
	assert.Equal(t, 2, st.Entries, "base and package layer")

	// Damage the cached package file (as a write through a hardlink would).
	cached := filepath.Join(a, pkg)
	require.NoError(t, os.Chmod(cached, 0o644))
	require.NoError(t, os.WriteFile(cached, []byte("x = 2\n"), 0o644))
	_, err = f.restore(c, false, false)
	require.NoError(t, err)
	assert.Equal(t, int32(6), f.opened.Load(), "the damaged layer is read and unpacked again")
	got, err := os.ReadFile(filepath.Join(c, pkg))
	require.NoError(t, err)
	assert.Equal(t, "x = 1\n", string(got))
}

// TestCachedRestoreSkipsPythonWhenLayersHoldTheLock gives the package
// layer a dist-info folder: when the layers' distributions (read from the
// layer cache's manifests) are the lock's, the restore asks the mode no
// Lock (no Python start); when they differ, or there is no layer cache to
// tell, it asks as before.
func TestCachedRestoreSkipsPythonWhenLayersHoldTheLock(t *testing.T) {
	site := "lib/python3.11/site-packages/"
	withDist := func(t *testing.T, storage bool, lockVersion string) *rsFixture {
		f := rsNewFixture(t)
		if !storage {
			f.svc.StorageRoot = ""
		}
		f.rm.Lock = []mode.LockedPackage{{Name: "RS.Pkg", Version: lockVersion}}
		f.mode.lock = f.rm.Lock
		f.layers = f.layers[:2]
		f.add(rsLayerBlob(t, bundle.RolePackage, "rs-pkg==1.0",
			rsTarEntry{name: site, typ: tar.TypeDir},
			rsTarEntry{name: site + "rs_pkg.py", typ: tar.TypeReg, body: "x = 1\n"},
			rsTarEntry{name: site + "rs_pkg-1.0.dist-info/", typ: tar.TypeDir},
			rsTarEntry{name: site + "rs_pkg-1.0.dist-info/METADATA", typ: tar.TypeReg, body: "Name: rs.pkg\nVersion: 1.0\n"}))
		return f
	}
	for _, tc := range []struct {
		name        string
		storage     bool
		lockVersion string
		locks       int
	}{
		{"layers hold the lock", true, "1.0", 0},
		{"layers differ from the lock", true, "2.0", 2},
		{"no layer cache", false, "1.0", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := withDist(t, tc.storage, tc.lockVersion)
			for _, d := range []string{"a", "b"} { // a fills the cache, b links from it
				_, err := f.restore(filepath.Join(t.TempDir(), d), false, false)
				require.NoError(t, err)
			}
			assert.Equal(t, tc.locks, f.mode.locks)
		})
	}
}
