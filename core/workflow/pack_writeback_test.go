package workflow

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/store"
)

// TestSyncsBlobs: the local instance's store (DEFERRED where the boot can
// be told, as on Linux) does not fsync blobs, so build packs without the
// writeback hint; a store opened SYNCED does, and gets it.
func TestSyncsBlobs(t *testing.T) {
	l, err := instance.OpenLocal(t.TempDir())
	require.NoError(t, err)
	st := l.Registry().Store()
	fs, ok := st.(*store.FS)
	require.True(t, ok, "the local instance's store is a *store.FS (%T)", st)
	assert.Equal(t, !fs.DefersSync(), !store.DefersSync(st))
	assert.False(t, !store.DefersSync(st), "on Linux the local store defers blob syncs")
	synced, err := store.NewFS(filepath.Join(t.TempDir(), "store"))
	require.NoError(t, err)
	assert.True(t, !store.DefersSync(synced))
}
