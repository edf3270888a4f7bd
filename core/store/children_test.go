package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/store"
)

// listOnly hides the FS's Children, as a store plugin without it looks.
type listOnly struct{ store.Store }

func TestChildren(t *testing.T) {
	ctx := context.Background()
	fs, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	for _, k := range []string{"a/b/c", "a/b/d", "a/d/e/f", "a/file", "a-b/x", "top"} {
		require.NoError(t, fs.Put(ctx, k, strings.NewReader(k), store.PutOptions{}))
	}
	for name, s := range map[string]store.Store{
		"fs": store.Checked("fs", fs), "list-only": store.Checked("plugin", listOnly{fs}),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := store.ChildrenOf(ctx, s, "a/")
			require.NoError(t, err)
			require.Equal(t, []string{"b", "d"}, got, "folders only, each once, sorted")
			got, err = store.ChildrenOf(ctx, s, "")
			require.NoError(t, err)
			require.Equal(t, []string{"a", "a-b"}, got)
			got, err = store.ChildrenOf(ctx, s, "missing/")
			require.NoError(t, err)
			require.Empty(t, got)
			_, err = store.ChildrenOf(ctx, s, "a")
			require.Error(t, err, "a prefix that is not a folder")
			_, err = store.ChildrenOf(ctx, s, "../")
			require.Error(t, err)
		})
	}
}
