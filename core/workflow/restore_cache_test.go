package workflow

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/layercache"
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
