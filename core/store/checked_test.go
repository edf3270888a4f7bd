package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/sdk/storetest"
)

// TestCheckedConformance: the wrapper keeps a conforming store conforming
// (errors stay findable with errors.As, streams and conditional puts pass).
func TestCheckedConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		fs, err := store.NewFS(t.TempDir())
		require.NoError(t, err)
		return store.Checked("local", fs)
	})
}

func TestCheckedNamesTheStore(t *testing.T) {
	fs, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	s := store.Checked("mys3", fs)
	ctx := context.Background()

	_, err = s.Stat(ctx, "a/missing")
	var nf *store.NotFoundError
	require.True(t, errors.As(err, &nf), "%v", err)
	assert.Equal(t, `store "mys3": stat a/missing: store: a/missing: not found`, err.Error())

	err = s.Put(ctx, "a//b", strings.NewReader("x"), store.PutOptions{})
	var ik *store.InvalidKeyError
	require.True(t, errors.As(err, &ik), "%v", err)
	assert.Contains(t, err.Error(), `store "mys3": put a//b:`)

	_, isLocal := s.(store.Ingester)
	assert.True(t, isLocal, "the filesystem store's Ingest stays visible through the wrapper")
	assert.Same(t, s, store.Checked("mys3", s), "wrapping twice under one name is one wrapper")
}

// reversed is a broken driver: it lists keys in reverse order. The only
// way to see that the wrapper refuses what the contract forbids is a store
// that does it; no real one does.
type reversed struct{ *store.FS }

func (r reversed) List(ctx context.Context, prefix string, fn func(store.Info) error) error {
	var all []store.Info
	if err := r.FS.List(ctx, prefix, func(i store.Info) error { all = append(all, i); return nil }); err != nil {
		return err
	}
	for i := len(all) - 1; i >= 0; i-- {
		if err := fn(all[i]); err != nil {
			return err
		}
	}
	return nil
}

func TestCheckedRefusesBrokenList(t *testing.T) {
	fs, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	ctx := context.Background()
	for _, k := range []string{"p/a", "p/b"} {
		require.NoError(t, fs.Put(ctx, k, strings.NewReader(k), store.PutOptions{}))
	}
	err = store.Checked("odd", reversed{fs}).List(ctx, "p/", func(store.Info) error { return nil })
	var ce *store.ContractError
	require.True(t, errors.As(err, &ce), "%v", err)
	assert.Equal(t, `store "odd" broke the store contract in list p/: listed "p/a" after "p/b" (not in lexical order)`, err.Error())

	stop := errors.New("enough")
	err = store.Checked("ok", fs).List(ctx, "p/", func(store.Info) error { return stop })
	assert.Same(t, stop, err, "the caller's own error comes back as it returned it")
}
