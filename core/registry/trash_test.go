package registry_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/registry"
)

func TestRemoveRecover(t *testing.T) {
	r, _ := newRegistry(t)
	v0 := build(t, r, "self", "mnist", "zero")
	v1 := build(t, r, "self", "mnist", "one", "prod")
	v2 := build(t, r, "self", "mnist", "two")

	// Remove by tag.
	require.NoError(t, r.Remove(ctx, "self", "mnist", "prod", false))
	_, err := r.Resolve(ctx, "self", "mnist", "prod")
	var nf *registry.NotFoundError
	require.ErrorAs(t, err, &nf)
	assert.True(t, nf.Removed)
	assert.Equal(t, "runtime mnist: version prod is removed; recover it to use it", err.Error())
	_, err = r.Resolve(ctx, "self", "mnist", v1.Short)
	require.ErrorAs(t, err, &nf)
	assert.True(t, nf.Removed)
	got, err := r.Resolve(ctx, "self", "mnist", "prod", registry.IncludeRemoved())
	require.NoError(t, err)
	assert.True(t, got.Removed)
	assert.False(t, got.RemovedAt.IsZero())

	vs, err := r.ListVersions(ctx, "self", "mnist", false)
	require.NoError(t, err)
	assert.Len(t, vs, 2)
	vs, err = r.ListVersions(ctx, "self", "mnist", true)
	require.NoError(t, err)
	require.Len(t, vs, 3)
	assert.True(t, vs[1].Removed)
	assert.Equal(t, []string{"v1", "prod"}, vs[1].Tags, "a removed version keeps its tags")

	// Removing latest moves it to the newest remaining version.
	require.NoError(t, r.Remove(ctx, "self", "mnist", "latest", false))
	assert.Equal(t, []string{"v0", "latest"}, tagsOf(t, r, "self", "mnist", "latest"))
	var nr *registry.NotRemovedError
	_, err = r.Recover(ctx, "self", "mnist", "v0")
	require.ErrorAs(t, err, &nr)
	require.ErrorAs(t, r.Remove(ctx, "self", "mnist", v2.Short, false), &nf, "already removed")

	// Recover by short version: latest comes back to it (it is newer).
	rv, err := r.Recover(ctx, "self", "mnist", v2.Short)
	require.NoError(t, err)
	assert.Equal(t, v2.Digest, rv.Digest)
	assert.False(t, rv.Removed)
	assert.Equal(t, []string{"v2", "latest"}, rv.Tags)
	assert.Equal(t, v2.Created, rv.Created)

	// Recover by tag: the tags come back with it, latest stays.
	rv, err = r.Recover(ctx, "self", "mnist", "prod")
	require.NoError(t, err)
	assert.Equal(t, v1.Digest, rv.Digest)
	assert.Equal(t, []string{"v1", "prod"}, rv.Tags)
	assert.Equal(t, []string{"v2", "latest"}, tagsOf(t, r, "self", "mnist", "latest"))

	// Remove everything: nothing resolves, a new build is latest.
	for _, v := range []registry.Version{v0, v1, v2} {
		require.NoError(t, r.Remove(ctx, "self", "mnist", v.Short, false))
	}
	_, err = r.Resolve(ctx, "self", "mnist", "latest")
	assert.ErrorAs(t, err, &nf)
	v3 := build(t, r, "self", "mnist", "three")
	assert.Equal(t, 3, v3.Number)
	assert.Equal(t, []string{"v3", "latest"}, v3.Tags)
}

func TestHardRemove(t *testing.T) {
	r, s := newRegistry(t)
	v0 := build(t, r, "self", "mnist", "zero")
	v1 := build(t, r, "self", "mnist", "one", "prod")

	require.NoError(t, r.Remove(ctx, "self", "mnist", "prod", true))
	var nf *registry.NotFoundError
	_, err := r.Resolve(ctx, "self", "mnist", v1.Short, registry.IncludeRemoved())
	assert.ErrorAs(t, err, &nf)
	_, err = r.Resolve(ctx, "self", "mnist", "v1", registry.IncludeRemoved())
	assert.ErrorAs(t, err, &nf)
	_, err = r.Recover(ctx, "self", "mnist", v1.Short)
	assert.ErrorAs(t, err, &nf)
	assert.Equal(t, []string{"v0", "latest"}, tagsOf(t, r, "self", "mnist", "latest"))
	_, err = s.Stat(ctx, "projects/self/runtimes/mnist/tags/prod")
	assert.Error(t, err, "its tags are gone")

	// vN is never reused.
	v2 := build(t, r, "self", "mnist", "two")
	assert.Equal(t, 2, v2.Number)
	// Even when the version comes back: it gets a new number.
	again, err := r.PutVersion(ctx, "self", "mnist", fakeManifest(t, r, "one", "layer of one", "shared layer"), nil)
	require.NoError(t, err)
	assert.Equal(t, v1.Digest, again.Digest)
	assert.Equal(t, 3, again.Number)

	// A soft-removed version can be hard-removed (emptying the trash).
	require.NoError(t, r.Remove(ctx, "self", "mnist", v0.Short, false))
	require.NoError(t, r.Remove(ctx, "self", "mnist", v0.Short, true))
	vs, err := r.ListVersions(ctx, "self", "mnist", true)
	require.NoError(t, err)
	assert.Len(t, vs, 2)
}
