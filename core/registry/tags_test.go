package registry_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/registry"
)

func TestTag(t *testing.T) {
	r, _ := newRegistry(t)
	v0 := build(t, r, "self", "mnist", "zero")
	v1 := build(t, r, "self", "mnist", "one")

	require.NoError(t, r.Tag(ctx, "self", "mnist", "v0", []string{"prod", "Stable_1.0"}, false))
	assert.Equal(t, []string{"v0", "Stable_1.0", "prod"}, tagsOf(t, r, "self", "mnist", "prod"))
	require.NoError(t, r.Tag(ctx, "self", "mnist", v0.Short, []string{"prod"}, false), "same version again is fine")

	var te *registry.TagExistsError
	err := r.Tag(ctx, "self", "mnist", "v1", []string{"new", "prod"}, false)
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "prod", te.Tag)
	assert.Equal(t, v0.Short, te.Version)
	assert.Equal(t, "runtime mnist: tag prod is already on version "+v0.Short+"; force to move it", err.Error())
	_, err = r.Resolve(ctx, "self", "mnist", "new")
	assert.Error(t, err, "no tag is set when one conflicts")

	require.NoError(t, r.Tag(ctx, "self", "mnist", "v1", []string{"prod"}, true))
	got, err := r.Resolve(ctx, "self", "mnist", "prod")
	require.NoError(t, err)
	assert.Equal(t, v1.Digest, got.Digest)
	assert.Equal(t, []string{"v0", "Stable_1.0"}, tagsOf(t, r, "self", "mnist", "v0"))

	var rt *registry.ReservedTagError
	for _, tag := range []string{"latest", "v0", "v12"} {
		assert.ErrorAs(t, r.Tag(ctx, "self", "mnist", "v0", []string{tag}, true), &rt, tag)
		assert.ErrorAs(t, r.Untag(ctx, "self", "mnist", []string{tag}), &rt, tag)
	}
	var in *registry.InvalidNameError
	for _, tag := range []string{"", "-x", ".x", "a/b", "a b", string(make([]byte, 129))} {
		assert.ErrorAs(t, r.Tag(ctx, "self", "mnist", "v0", []string{tag}, false), &in, tag)
	}
	var nf *registry.NotFoundError
	assert.ErrorAs(t, r.Tag(ctx, "self", "mnist", "v7", []string{"x"}, false), &nf)

	require.NoError(t, r.Untag(ctx, "self", "mnist", []string{"prod"}))
	assert.Equal(t, []string{"v1", "latest"}, tagsOf(t, r, "self", "mnist", "v1"))
	var tn *registry.TagNotFoundError
	err = r.Untag(ctx, "self", "mnist", []string{"prod"})
	require.ErrorAs(t, err, &tn)
	assert.Equal(t, []string{"Stable_1.0"}, tn.Existing)
	assert.Equal(t, "runtime mnist has no tag prod; tags: Stable_1.0", err.Error())
}

func TestTagTakesOverRemoved(t *testing.T) {
	r, _ := newRegistry(t)
	build(t, r, "self", "mnist", "zero", "prod")
	v1 := build(t, r, "self", "mnist", "one")
	require.NoError(t, r.Remove(ctx, "self", "mnist", "prod", false))
	require.NoError(t, r.Tag(ctx, "self", "mnist", "v1", []string{"prod"}, false),
		"a tag on a removed version does not block")
	got, err := r.Resolve(ctx, "self", "mnist", "prod")
	require.NoError(t, err)
	assert.Equal(t, v1.Digest, got.Digest)
}

func TestConcurrentTag(t *testing.T) {
	r, _ := newRegistry(t)
	v := build(t, r, "self", "mnist", "zero")
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = r.Tag(ctx, "self", "mnist", "latest", []string{fmt.Sprintf("t%02d", i)}, false)
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	got, err := r.Resolve(ctx, "self", "mnist", v.Short)
	require.NoError(t, err)
	assert.Len(t, got.Tags, n+2, "every tag landed: %v", got.Tags)

	// Two versions racing for one tag without force: one wins.
	other := build(t, r, "self", "mnist", "one")
	for round := 0; round < 5; round++ {
		tag := fmt.Sprintf("race%d", round)
		var wins, losses int
		var mu sync.Mutex
		for _, ref := range []string{v.Short, other.Short, v.Short, other.Short} {
			wg.Add(1)
			go func(ref string) {
				defer wg.Done()
				err := r.Tag(ctx, "self", "mnist", ref, []string{tag}, false)
				mu.Lock()
				defer mu.Unlock()
				var te *registry.TagExistsError
				switch {
				case err == nil:
					wins++
				case assert.ErrorAs(t, err, &te):
					losses++
				}
			}(ref)
		}
		wg.Wait()
		assert.Equal(t, 4, wins+losses)
		assert.GreaterOrEqual(t, wins, 1)
		got, err := r.Resolve(ctx, "self", "mnist", tag)
		require.NoError(t, err)
		assert.Equal(t, 2, wins, "exactly the version that won, twice (%s)", got.Short)
	}
}
