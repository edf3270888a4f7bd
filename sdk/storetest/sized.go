package storetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/store"
)

// PutSized checks store.PutSized on s (an empty store): through the
// store's store.SizedPutter when it has one, else the checked Put
// fallback. Values of the announced size are stored (empty, small, 1 MiB
// and 6 MiB: past the 5 MiB single-request limit a store may be set to,
// the S3 store's tests do), also conditionally; a reader that
// gives fewer or more bytes, or fails together with its last bytes (as a
// digest check does) or after them, stores nothing and leaves the old
// value.
func PutSized(t *testing.T, s store.Store) {
	ctx := context.Background()
	value := func(seed uint64, n int64) []byte {
		b := make([]byte, n)
		var key [32]byte
		key[0] = byte(seed)
		_, _ = rand.NewChaCha8(key).Read(b)
		return b
	}
	get := func(key string) []byte {
		t.Helper()
		rc, err := s.Get(ctx, key, 0, -1)
		require.NoError(t, err)
		defer rc.Close()
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		return b
	}
	for i, n := range []int64{0, 1, 1000, 1 << 20, 6 << 20} {
		v := value(uint64(i), n)
		require.NoError(t, store.PutSized(ctx, s, "sized/ok", bytes.NewReader(v), n, store.PutOptions{}), "%d bytes", n)
		require.True(t, bytes.Equal(v, get("sized/ok")), "%d bytes read back", n)
	}

	old := value(9, 3000)
	require.NoError(t, s.Put(ctx, "sized/kept", bytes.NewReader(old), store.PutOptions{}))
	boom := errors.New("boom")
	for _, n := range []int64{1 << 20, 6 << 20} {
		v := value(uint64(n), n)
		for _, c := range []struct {
			name string
			r    io.Reader
			size int64
			want error // nil: *store.SizeMismatchError
		}{
			{"short", bytes.NewReader(v[:n-1]), n, nil},
			{"long", bytes.NewReader(v), n - 1, nil},
			{"error with the last bytes", io.MultiReader(bytes.NewReader(v[:n-2]), &failingTail{b: v[n-2:], err: boom}), n, boom},
			{"error after the last byte", io.MultiReader(bytes.NewReader(v), &failingTail{err: boom}), n, boom},
		} {
			err := store.PutSized(ctx, s, "sized/kept", c.r, c.size, store.PutOptions{})
			require.Error(t, err, "%s, %d bytes", c.name, n)
			assert.True(t, bytes.Equal(old, get("sized/kept")), "%s, %d bytes: the old value stays", c.name, n)
			if c.want != nil {
				assert.ErrorIs(t, err, c.want, "%s, %d bytes: the reader's own error", c.name, n)
			} else {
				var se *store.SizeMismatchError
				assert.ErrorAs(t, err, &se, "%s, %d bytes", c.name, n)
			}
		}
	}
	v := value(10, 1<<20)
	n := int64(len(v))
	// a failed sized Put of a new key leaves no key
	err := store.PutSized(ctx, s, "sized/new", bytes.NewReader(v[:n-1]), n, store.PutOptions{})
	require.Error(t, err)
	_, err = s.Stat(ctx, "sized/new")
	var nf *store.NotFoundError
	require.ErrorAs(t, err, &nf, "nothing was stored")

	// conditions hold as for Put
	err = store.PutSized(ctx, s, "sized/kept", bytes.NewReader(v), n, store.PutOptions{IfNoneMatch: true})
	var pe *store.PreconditionError
	require.ErrorAs(t, err, &pe, "IfNoneMatch on an existing key")
	info, err := s.Stat(ctx, "sized/kept")
	require.NoError(t, err)
	require.NoError(t, store.PutSized(ctx, s, "sized/kept", bytes.NewReader(v), n, store.PutOptions{IfMatch: info.ETag}))
	require.True(t, bytes.Equal(v, get("sized/kept")))
	require.NoError(t, store.PutSized(ctx, s, "sized/cond", bytes.NewReader(v[:10]), 10, store.PutOptions{IfNoneMatch: true}))
}

// failingTail gives b and err in one Read, as a verifying reader does when
// the digest of what it passed on is wrong.
type failingTail struct {
	b   []byte
	err error
}

func (f *failingTail) Read(p []byte) (int, error) {
	n := copy(p, f.b)
	f.b = f.b[n:]
	return n, f.err
}
