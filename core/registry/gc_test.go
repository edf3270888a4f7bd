package registry_test

import (
	"context"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/store"
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

// TestGCLeases: a blob a writer leased (it found it stored and is about to
// reference it) survives GC for the lease TTL, also when the lease is taken
// while GC runs, after GC read the leases; an expired lease frees it and is
// deleted.
func TestGCLeases(t *testing.T) {
	r, s := newRegistry(t)
	kept := putBlob(t, r, "leased before gc")
	late := putBlob(t, r, "leased during gc")
	free := putBlob(t, r, "never leased")
	require.NoError(t, r.LeaseBlob(ctx, kept.Digest))

	// Another writer leases `late` right after GC listed the blobs.
	racing := registry.New(&afterList{Store: s, prefix: "blobs/", fn: func() {
		require.NoError(t, r.LeaseBlob(ctx, late.Digest))
	}})
	st, err := racing.GC(ctx, registry.GracePeriod(0), registry.LeaseTTL(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, st.BlobsFreed)
	assert.Equal(t, free.Size, st.BytesFreed)
	for _, d := range []digest.Digest{kept.Digest, late.Digest} {
		_, err := s.Stat(ctx, "blobs/sha256/"+d.Encoded())
		assert.NoError(t, err, "leased blob %s kept", d)
	}

	// Leases expire: with a TTL of 0 both are freed, and the leases go.
	st, err = r.GC(ctx, registry.GracePeriod(0), registry.LeaseTTL(0))
	require.NoError(t, err)
	assert.Equal(t, 2, st.BlobsFreed)
	var leases []string
	require.NoError(t, s.List(ctx, "leases/", func(i store.Info) error { leases = append(leases, i.Key); return nil }))
	assert.Empty(t, leases)
}

// afterList calls fn once, after the first List of prefix returned.
type afterList struct {
	store.Store
	prefix string
	fn     func()
	done   bool
}

func (a *afterList) List(ctx context.Context, prefix string, fn func(store.Info) error) error {
	err := a.Store.List(ctx, prefix, fn)
	if prefix == a.prefix && !a.done {
		a.done = true
		a.fn()
	}
	return err
}
