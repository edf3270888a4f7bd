package registry_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/store"
)

func TestKindsAreSeparateTreesSharingBlobs(t *testing.T) {
	r, s := newRegistry(t)
	models := r.Of(registry.KindModel)
	assert.Equal(t, registry.KindRuntime, r.Kind())
	assert.Equal(t, registry.KindModel, models.Kind())

	rt := build(t, r, "self", "mnist", "zero")
	m0 := build(t, models, "self", "mnist", "zero") // the same manifest as a model
	m1 := build(t, models, "self", "mnist", "one")
	assert.Equal(t, rt.Digest, m0.Digest)
	assert.Equal(t, 0, m0.Number, "a model's numbers are its own")
	assert.Equal(t, 1, m1.Number)

	// Runtimes stay where they were; models go under models/.
	_, err := s.Stat(ctx, "projects/self/runtimes/mnist/versions/"+rt.Digest.Encoded())
	require.NoError(t, err)
	_, err = s.Stat(ctx, "projects/self/models/mnist/versions/"+m1.Digest.Encoded())
	require.NoError(t, err)
	_, err = s.Stat(ctx, "projects/self/runtimes/mnist/versions/"+m1.Digest.Encoded())
	var nf *store.NotFoundError
	require.ErrorAs(t, err, &nf, "a model version is not a runtime version")

	rts, err := r.ListVersions(ctx, "self", "mnist", false)
	require.NoError(t, err)
	assert.Len(t, rts, 1)
	ms, err := models.ListVersions(ctx, "self", "mnist", false)
	require.NoError(t, err)
	assert.Len(t, ms, 2)

	_, err = r.Of(registry.KindDataset).Resolve(ctx, "self", "mnist", "latest")
	var rnf *registry.NotFoundError
	require.True(t, errors.As(err, &rnf))
	assert.Equal(t, "project self has no dataset mnist", err.Error())

	// GC keeps the blobs of every kind: removing the runtime leaves the
	// model's (same) blobs in use.
	require.NoError(t, r.Remove(ctx, "self", "mnist", rt.Short, true))
	st, err := r.GC(ctx, registry.GracePeriod(0))
	require.NoError(t, err)
	assert.Equal(t, 0, st.BlobsFreed, "the model still uses every blob")
	require.NoError(t, models.Remove(ctx, "self", "mnist", m1.Short, true))
	st, err = r.GC(ctx, registry.GracePeriod(0))
	require.NoError(t, err)
	assert.Equal(t, 3, st.BlobsFreed, "m1's config, layer and manifest")
}

func TestParseKind(t *testing.T) {
	k, err := registry.ParseKind("dataset")
	require.NoError(t, err)
	assert.Equal(t, registry.KindDataset, k)
	_, err = registry.ParseKind("job")
	assert.EqualError(t, err, `invalid artifact kind "job": allowed: runtime, model, dataset`)
}
