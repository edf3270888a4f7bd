package instance_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/store"
)

// The local instance commits its blobs unsynced (DEFERRED). The machine
// goes down with one layer damaged: the next open, in a later boot, finds
// that boot's marker and removes the layer; the version is still listed
// and reports the layer missing in one line; a re-copy fills it back and
// the version is whole again.
func TestLocalRecoversABlobDamagedByAPowerLoss(t *testing.T) {
	src := newLocal(t)
	layers, _ := putLayeredVersion(t, src, "pl", 3, 5000)

	root := t.TempDir()
	dst, err := instance.OpenLocal(root)
	require.NoError(t, err)
	fs, ok := dst.Store().(*store.FS)
	require.True(t, ok)
	if !fs.DefersSync() {
		t.Skip("this system cannot tell its boot: the local store stays synced")
	}
	_, err = instance.Copy(ctx, src, instance.Ref{Name: "pl"}, dst, instance.Ref{}, instance.CopyOptions{})
	require.NoError(t, err)

	// The power loss: this boot's marker is now another boot's, and one
	// layer's data never reached the disk.
	markers := filepath.Join(root, "store", ".unsynced")
	des, err := os.ReadDir(markers)
	require.NoError(t, err)
	require.Len(t, des, 1, "one marker for this boot")
	require.NoError(t, os.Rename(filepath.Join(markers, des[0].Name()), filepath.Join(markers, "boot:earlier")))
	lost := layers[1].Digest
	require.NoError(t, os.Truncate(filepath.Join(root, "store", "blobs", "sha256", lost.Encoded()), 0))

	again, err := instance.OpenLocal(root)
	require.NoError(t, err)
	des, err = os.ReadDir(markers)
	require.NoError(t, err)
	assert.Empty(t, des, "recovery drops the marker")
	v, err := again.Resolve(ctx, instance.Ref{Name: "pl"}, false)
	require.NoError(t, err, "the version record was synced: the version is there")
	for _, l := range layers {
		_, err := again.Stat(ctx, l.Digest)
		if l.Digest != lost {
			assert.NoError(t, err, "a good layer stays")
			continue
		}
		var bu *registry.BlobUnknownError
		require.ErrorAs(t, err, &bu)
		assert.Equal(t, "blob "+string(lost)+" not found", err.Error())
	}
	_, err = again.Get(ctx, lost, 0)
	assert.EqualError(t, err, "blob "+string(lost)+" not found", "what a restore reads")

	res, err := instance.Copy(ctx, src, instance.Ref{Name: "pl"}, again, instance.Ref{}, instance.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Copied, "only the lost layer moves again")
	assert.Equal(t, v.Digest, res.Digest)
	rc, err := again.Get(ctx, lost, 0)
	require.NoError(t, err)
	defer rc.Close()
	got, err := digest.FromReader(rc)
	require.NoError(t, err)
	assert.Equal(t, lost, got, "the layer is whole again")
}
