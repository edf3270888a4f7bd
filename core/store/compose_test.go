package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/store"
)

// TestCompose runs the Composer contract on the filesystem store itself,
// through the checked wrapper, and on the streaming fallback.
func TestCompose(t *testing.T) {
	for name, wrap := range map[string]func(*store.FS) store.Store{
		"fs":      func(fs *store.FS) store.Store { return fs },
		"checked": func(fs *store.FS) store.Store { return store.Checked("local", fs) },
		// statGet (getinfo_test.go) hides every optional capability, so
		// ComposeOf streams, as for a plugin store
		"fallback": func(fs *store.FS) store.Store { return store.Checked("plugin", statGet{fs}) },
	} {
		t.Run(name, func(t *testing.T) {
			fs, err := store.NewFS(t.TempDir())
			require.NoError(t, err)
			testCompose(t, wrap(fs))
		})
	}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func get(t *testing.T, s store.Store, key string) []byte {
	t.Helper()
	rc, err := s.Get(context.Background(), key, 0, -1)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

func testCompose(t *testing.T, s store.Store) {
	ctx := context.Background()
	// larger than the FS store's content-hash ETag limit, and not a
	// multiple of any buffer size
	parts := [][]byte{randomBytes(t, 100<<10+7), randomBytes(t, 3), randomBytes(t, 1<<20+1)}
	keys := []string{"up/c/0", "up/c/1", "up/c/2"}
	for i, k := range keys {
		require.NoError(t, s.Put(ctx, k, bytes.NewReader(parts[i]), store.PutOptions{}))
	}

	require.NoError(t, store.ComposeOf(ctx, s, "blobs/all", keys))
	assert.Equal(t, bytes.Join(parts, nil), get(t, s, "blobs/all"))

	require.NoError(t, store.ComposeOf(ctx, s, "blobs/one", keys[2:]))
	assert.Equal(t, parts[2], get(t, s, "blobs/one"))

	require.NoError(t, store.ComposeOf(ctx, s, "blobs/none", nil))
	assert.Empty(t, get(t, s, "blobs/none"))

	for i, k := range keys {
		assert.Equal(t, parts[i], get(t, s, k), "srcs stay")
	}

	// replacing a value: the new one, with a new ETag
	before, err := s.Stat(ctx, "blobs/one")
	require.NoError(t, err)
	require.NoError(t, store.ComposeOf(ctx, s, "blobs/one", keys[:2]))
	after, err := s.Stat(ctx, "blobs/one")
	require.NoError(t, err)
	assert.Equal(t, bytes.Join(parts[:2], nil), get(t, s, "blobs/one"))
	assert.NotEqual(t, before.ETag, after.ETag)

	// the result does not depend on the srcs any more
	for _, k := range keys {
		require.NoError(t, s.Delete(ctx, k))
	}
	assert.Equal(t, bytes.Join(parts, nil), get(t, s, "blobs/all"))

	// a missing src: *NotFoundError, dst unchanged, for one src and several
	require.NoError(t, s.Put(ctx, "up/c/0", bytes.NewReader(parts[0]), store.PutOptions{}))
	for _, srcs := range [][]string{{"up/c/9"}, {"up/c/0", "up/c/9"}} {
		err = store.ComposeOf(ctx, s, "blobs/all", srcs)
		var nf *store.NotFoundError
		require.True(t, errors.As(err, &nf), "%v", err)
		assert.Equal(t, "up/c/9", nf.Key)
		assert.Equal(t, bytes.Join(parts, nil), get(t, s, "blobs/all"))
	}

	// a bad key is refused before anything is read
	var ik *store.InvalidKeyError
	require.True(t, errors.As(store.ComposeOf(ctx, s, "blobs//x", keys[:1]), &ik))
	require.True(t, errors.As(store.ComposeOf(ctx, s, "blobs/x", []string{"../x"}), &ik))

	// the one-src case onto itself (dst is already a link of src) leaves both
	require.NoError(t, store.ComposeOf(ctx, s, "blobs/self", []string{"up/c/0"}))
	require.NoError(t, store.ComposeOf(ctx, s, "blobs/self", []string{"up/c/0"}))
	assert.Equal(t, parts[0], get(t, s, "blobs/self"))
	assert.Equal(t, parts[0], get(t, s, "up/c/0"))
}

// TestFSComposeOneSrcLinks: composing one src copies no bytes (dst is the
// same file), several leave no temporary file behind.
func TestFSComposeOneSrcLinks(t *testing.T) {
	ctx := context.Background()
	fs, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, fs.Put(ctx, "a/src", bytes.NewReader(randomBytes(t, 70<<10)), store.PutOptions{}))
	require.NoError(t, fs.Put(ctx, "a/src2", bytes.NewReader([]byte("x")), store.PutOptions{}))
	require.NoError(t, fs.Compose(ctx, "b/dst", []string{"a/src"}))
	si, err := os.Stat(filepath.Join(fs.Root(), "a", "src"))
	require.NoError(t, err)
	di, err := os.Stat(filepath.Join(fs.Root(), "b", "dst"))
	require.NoError(t, err)
	assert.True(t, os.SameFile(si, di), "one src is hard-linked, not copied")

	require.NoError(t, fs.Compose(ctx, "b/dst2", []string{"a/src", "a/src2"}))
	require.Error(t, fs.Compose(ctx, "b/dst3", []string{"a/src", "a/nope"}))
	left, err := os.ReadDir(fs.TempDir())
	require.NoError(t, err)
	assert.Empty(t, left, "no temporary file is left behind")
}
