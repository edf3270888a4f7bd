package registry_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRuntimeNames(t *testing.T) {
	r, _ := newRegistry(t)
	names, err := r.RuntimeNames(ctx, "self")
	require.NoError(t, err)
	assert.Empty(t, names)
	build(t, r, "self", "zeta", "a")
	build(t, r, "self", "alpha", "b")
	build(t, r, "self", "alpha", "c")
	build(t, r, "other", "beta", "d")
	names, err = r.RuntimeNames(ctx, "self")
	require.NoError(t, err)
	assert.Equal(t, []string{"alpha", "zeta"}, names)
	_, err = r.RuntimeNames(ctx, "Bad/Project")
	assert.Error(t, err)
}
