package registry_test

import (
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/registry"
)

func TestGC(t *testing.T) {
	r, s := newRegistry(t)
	v0 := build(t, r, "self", "mnist", "zero") // config0, "layer of zero", shared
	v1 := build(t, r, "self", "mnist", "one")  // config1, "layer of one", shared
	build(t, r, "other", "cifar", "zero")      // same blobs and manifest as v0
	stray := putBlob(t, r, "stray blob")
	all := blobFiles(t, s)
	assert.Len(t, all, 7+1, "shared blobs are stored once: 2 configs, 3 layers, 2 manifests, 1 stray")

	// Fresh blobs are protected by the default grace period.
	st, err := r.GC(ctx)
	require.NoError(t, err)
	assert.Equal(t, 0, st.BlobsFreed)

	// A removed version can be recovered: its blobs stay.
	require.NoError(t, r.Remove(ctx, "self", "mnist", v1.Short, false))
	st, err = r.GC(ctx, registry.GracePeriod(0), registry.DryRun())
	require.NoError(t, err)
	assert.Equal(t, registry.GCStats{BlobsFreed: 1, BytesFreed: stray.Size, BlobsKept: 7}, st)
	assert.Len(t, blobFiles(t, s), 8, "a dry run deletes nothing")

	st, err = r.GC(ctx, registry.GracePeriod(0))
	require.NoError(t, err)
	assert.Equal(t, 1, st.BlobsFreed)
	assert.Equal(t, stray.Size, st.BytesFreed)
	has, _ := r.HasBlob(ctx, stray.Digest)
	assert.False(t, has)

	// Hard remove frees exactly v1's own blobs: manifest, config, its layer.
	m1, err := r.Manifest(ctx, v1)
	require.NoError(t, err)
	require.NoError(t, r.Remove(ctx, "self", "mnist", v1.Short, true))
	st, err = r.GC(ctx, registry.GracePeriod(0))
	require.NoError(t, err)
	assert.Equal(t, 3, st.BlobsFreed)
	assert.Equal(t, int64(len(m1))+int64(len(`{"name":"one"}`))+int64(len("layer of one")), st.BytesFreed)
	for _, d := range []digest.Digest{v1.Digest, digest.FromString(`{"name":"one"}`), digest.FromString("layer of one")} {
		has, _ := r.HasBlob(ctx, d)
		assert.False(t, has, d)
	}
	for _, d := range []digest.Digest{v0.Digest, digest.FromString("shared layer"), digest.FromString("layer of zero")} {
		has, _ := r.HasBlob(ctx, d)
		assert.True(t, has, d)
	}
	_, err = r.Resolve(ctx, "self", "mnist", "latest")
	require.NoError(t, err)

	// Removing the last users frees everything.
	require.NoError(t, r.Remove(ctx, "self", "mnist", v0.Short, true))
	require.NoError(t, r.Remove(ctx, "other", "cifar", v0.Short, true))
	st, err = r.GC(ctx, registry.GracePeriod(0))
	require.NoError(t, err)
	assert.Equal(t, 4, st.BlobsFreed)
	assert.Empty(t, blobFiles(t, s))
}

func TestGCRefusesBrokenVersion(t *testing.T) {
	r, s := newRegistry(t)
	v := build(t, r, "self", "mnist", "zero")
	require.NoError(t, s.Delete(ctx, "blobs/sha256/"+v.Digest.Encoded()))
	_, err := r.GC(ctx, registry.GracePeriod(0))
	require.Error(t, err)
	assert.Len(t, blobFiles(t, s), 3, "nothing freed")
}
