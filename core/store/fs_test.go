package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/sdk/storetest"
)

func newFS(t *testing.T) *store.FS {
	t.Helper()
	s, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	return s
}

func TestFSConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newFS(t) })
}
