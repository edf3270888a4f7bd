package storetest

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/store"
)

// GetWithInfo checks store.GetWithInfo on s (an empty store): through the
// store's store.InfoGetter when it has one, else the Stat-then-Get
// fallback. The Info agrees with Stat (ETag, whole size), the bytes with
// Get, ranges and empty ranges included; a missing key is
// *store.NotFoundError; and the ETag is that of the value read: after the
// key is replaced, a conditional Put with it fails.
func GetWithInfo(t *testing.T, s store.Store) {
	ctx := context.Background()
	put := func(key, v string) {
		t.Helper()
		require.NoError(t, s.Put(ctx, key, strings.NewReader(v), store.PutOptions{}))
	}
	read := func(key string, off, n int64) (string, store.Info) {
		t.Helper()
		rc, info, err := store.GetWithInfo(ctx, s, key, off, n)
		require.NoError(t, err)
		defer rc.Close()
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		return string(b), info
	}
	put("rec/a.json", `{"v":1}`)
	put("rec/empty", "")
	st, err := s.Stat(ctx, "rec/a.json")
	require.NoError(t, err)

	for _, c := range []struct {
		off, n int64
		want   string
	}{{0, -1, `{"v":1}`}, {2, 3, `v":`}, {2, -1, `v":1}`}, {0, 0, ""}, {7, -1, ""}, {100, 5, ""}} {
		got, info := read("rec/a.json", c.off, c.n)
		require.Equal(t, c.want, got, "bytes of range %d+%d", c.off, c.n)
		require.Equal(t, st.ETag, info.ETag, "ETag of range %d+%d", c.off, c.n)
		require.Equal(t, int64(7), info.Size, "the whole value's size, range %d+%d", c.off, c.n)
		require.Equal(t, "rec/a.json", info.Key)
	}
	got, info := read("rec/empty", 0, -1)
	require.Equal(t, "", got)
	require.Equal(t, int64(0), info.Size)
	require.NotEmpty(t, info.ETag)

	_, _, err = store.GetWithInfo(ctx, s, "rec/missing", 0, -1)
	var nf *store.NotFoundError
	require.ErrorAs(t, err, &nf)

	// the ETag belongs to the value read: a replace in between makes a
	// conditional put with it fail, and a put with the fresh one succeed
	_, old := read("rec/a.json", 0, -1)
	put("rec/a.json", `{"v":2}`)
	err = s.Put(ctx, "rec/a.json", strings.NewReader(`{"v":3}`), store.PutOptions{IfMatch: old.ETag})
	var pe *store.PreconditionError
	require.ErrorAs(t, err, &pe, "IfMatch with the ETag of a replaced value")
	got, cur := read("rec/a.json", 0, -1)
	require.Equal(t, `{"v":2}`, got)
	require.NotEqual(t, old.ETag, cur.ETag)
	require.NoError(t, s.Put(ctx, "rec/a.json", strings.NewReader(`{"v":3}`), store.PutOptions{IfMatch: cur.ETag}))
}
