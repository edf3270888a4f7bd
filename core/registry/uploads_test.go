package registry_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/store"
)

// failStates is the filesystem store with a fault: the Put of every hash
// state the filter picks fails, as when a server dies between storing a
// chunk and storing its state (the chunk is there, its state is not).
type failStates struct {
	*store.FS
	fail   func(key string) bool
	failed atomic.Int32
}

func (f *failStates) Put(ctx context.Context, key string, r io.Reader, opts store.PutOptions) error {
	if strings.Contains(key, "/hash/") && f.fail(key) {
		f.failed.Add(1)
		return errors.New("disk gone")
	}
	return f.FS.Put(ctx, key, r, opts)
}

// countGets is the filesystem store counting the Gets of chunks.
type countGets struct {
	*store.FS
	chunkGets atomic.Int32
}

func (c *countGets) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if strings.Contains(key, "/chunks/") {
		c.chunkGets.Add(1)
	}
	return c.FS.Get(ctx, key, off, n)
}

func randomData(t *testing.T, n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// pushChunks uploads data to self/app in chunks of the given sizes.
func pushChunks(t *testing.T, r *registry.Registry, data []byte, sizes ...int) registry.Upload {
	t.Helper()
	u, err := r.StartUpload(ctx, "self", "app")
	require.NoError(t, err)
	off := 0
	for _, n := range sizes {
		got, err := r.AppendUpload(ctx, "self", "app", u.ID, int64(off), bytes.NewReader(data[off:off+n]))
		require.NoError(t, err)
		off += n
		require.Equal(t, int64(off), got.Size)
	}
	require.Equal(t, len(data), off)
	return u
}

func keysUnder(t *testing.T, s store.Store, prefix string) []string {
	var keys []string
	require.NoError(t, s.List(ctx, prefix, func(i store.Info) error {
		keys = append(keys, i.Key)
		return nil
	}))
	return keys
}

func requireBlob(t *testing.T, r *registry.Registry, d digest.Digest, want []byte) {
	t.Helper()
	rc, size, err := r.GetBlob(ctx, d)
	require.NoError(t, err)
	defer rc.Close()
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	assert.Equal(t, int64(len(want)), size)
	assert.True(t, bytes.Equal(want, got), "blob content")
	n, err := r.BlobLinked(ctx, "self", "app", d)
	require.NoError(t, err)
	assert.Equal(t, int64(len(want)), n)
}

// TestUploadSavesHashState: each chunk leaves the sha256 state at its end,
// finishing uses it and removes it with the session.
func TestUploadSavesHashState(t *testing.T) {
	s := &countGets{FS: newFS(t)}
	r := registry.New(s)
	data := randomData(t, 300<<10)
	u := pushChunks(t, r, data, 100<<10, 1, 200<<10-1)
	assert.Equal(t, []string{
		fmt.Sprintf("uploads/%s/hash/sha256/%020d", u.ID, 100<<10),
		fmt.Sprintf("uploads/%s/hash/sha256/%020d", u.ID, 100<<10+1),
		fmt.Sprintf("uploads/%s/hash/sha256/%020d", u.ID, 300<<10),
	}, keysUnder(t, s, "uploads/"+u.ID+"/hash/"))

	_, err := r.FinishUpload(ctx, "self", "app", u.ID, digest.SHA256.FromString("other"))
	var dm *registry.DigestMismatchError
	require.True(t, errors.As(err, &dm), "%v", err)
	assert.Equal(t, digest.FromBytes(data), dm.Actual)
	_, err = r.GetUpload(ctx, "self", "app", u.ID)
	require.NoError(t, err, "a mismatch keeps the session")

	d := digest.FromBytes(data)
	desc, err := r.FinishUpload(ctx, "self", "app", u.ID, d)
	require.NoError(t, err)
	assert.Equal(t, d, desc.Digest)
	assert.Equal(t, int64(len(data)), desc.Size)
	assert.Zero(t, s.chunkGets.Load(), "no chunk is read again: neither to hash nor to store the blob")
	requireBlob(t, r, d, data)
	assert.Empty(t, keysUnder(t, s, "uploads/"), "the session, its chunks and states are gone")
}

// TestUploadStateLostBetweenChunkAndState: a state that was never written
// (a crash after the chunk) is rebuilt from the chunks, by the next chunk
// and by finishing alike, and the blob is right.
func TestUploadStateLostBetweenChunkAndState(t *testing.T) {
	data := randomData(t, 64<<10+5)
	d := digest.FromBytes(data)
	for name, fail := range map[string]func(string) bool{
		"last":   func(k string) bool { return strings.HasSuffix(k, fmt.Sprintf("%020d", len(data))) },
		"middle": func(k string) bool { return strings.HasSuffix(k, fmt.Sprintf("%020d", 1000)) },
		"all":    func(string) bool { return true },
	} {
		t.Run(name, func(t *testing.T) {
			fs := newFS(t)
			faulty := &failStates{FS: fs, fail: fail}
			r := registry.New(faulty)
			u := pushChunks(t, r, data, 1000, 3000, len(data)-4000)
			require.NotZero(t, faulty.failed.Load(), "the fault happened")

			// another server on the same store, without the fault, finishes
			other := registry.New(fs)
			_, err := other.FinishUpload(ctx, "self", "app", u.ID, digest.SHA256.FromString("x"))
			var dm *registry.DigestMismatchError
			require.True(t, errors.As(err, &dm), "%v", err)
			assert.Equal(t, d, dm.Actual)
			_, err = r.FinishUpload(ctx, "self", "app", u.ID, d)
			require.NoError(t, err)
			requireBlob(t, other, d, data)
		})
	}
}

// TestUploadStateNotAtItsBoundaryIgnored: a state under another offset's
// name, one at an offset that is no chunk boundary, and one that does not
// parse are all ignored.
func TestUploadStateNotAtItsBoundaryIgnored(t *testing.T) {
	r, s := newRegistry(t)
	data := randomData(t, 5000)
	u := pushChunks(t, r, data, 1000, 1000, 3000)
	key := func(end int) string { return fmt.Sprintf("uploads/%s/hash/sha256/%020d", u.ID, end) }
	rc, err := s.Get(ctx, key(1000), 0, -1)
	require.NoError(t, err)
	early, err := io.ReadAll(rc)
	require.NoError(t, err)
	_ = rc.Close()
	// the state after 1000 bytes, saved as if it were the one after 5000
	require.NoError(t, s.Put(ctx, key(5000), bytes.NewReader(early), store.PutOptions{}))
	// garbage where the 2000 one was
	require.NoError(t, s.Put(ctx, key(2000), strings.NewReader("\x00\x00\x00\x00\x00\x00\x07\xd0junk"), store.PutOptions{}))
	// a state between boundaries
	require.NoError(t, s.Put(ctx, key(1500), bytes.NewReader(early), store.PutOptions{}))

	d := digest.FromBytes(data)
	_, err = r.FinishUpload(ctx, "self", "app", u.ID, d)
	require.NoError(t, err)
	requireBlob(t, r, d, data)
}

// TestUploadSHA512AndStoredBlob: a sha512 upload (no saved state) is
// re-hashed; finishing a blob already stored verifies and links it.
func TestUploadSHA512AndStoredBlob(t *testing.T) {
	r, _ := newRegistry(t)
	data := randomData(t, 70<<10)
	d512 := digest.SHA512.FromBytes(data)
	u := pushChunks(t, r, data, 10, 70<<10-10)
	_, err := r.FinishUpload(ctx, "self", "app", u.ID, d512)
	require.NoError(t, err)
	requireBlob(t, r, d512, data)

	d := digest.FromBytes(data)
	_, err = r.PutBlob(ctx, bytes.NewReader(data), d)
	require.NoError(t, err)
	u = pushChunks(t, r, data, len(data))
	desc, err := r.FinishUpload(ctx, "self", "app", u.ID, d)
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), desc.Size)
	requireBlob(t, r, d, data)

	// one byte short of the stored blob: another digest, a mismatch
	u = pushChunks(t, r, data[:len(data)-1], len(data)-1)
	_, err = r.FinishUpload(ctx, "self", "app", u.ID, d)
	var dm *registry.DigestMismatchError
	require.True(t, errors.As(err, &dm), "%v", err)

	// an empty upload is the empty blob
	u = pushChunks(t, r, nil)
	_, err = r.FinishUpload(ctx, "self", "app", u.ID, digest.FromBytes(nil))
	require.NoError(t, err)
	requireBlob(t, r, digest.FromBytes(nil), nil)
}

// TestUploadThroughCheckedStore: the server's store is the checked wrapper,
// which forwards Compose.
func TestUploadThroughCheckedStore(t *testing.T) {
	r := registry.New(store.Checked("local", newFS(t)))
	data := randomData(t, 3<<20)
	u := pushChunks(t, r, data, 1<<20, 2<<20)
	d := digest.FromBytes(data)
	_, err := r.FinishUpload(ctx, "self", "app", u.ID, d)
	require.NoError(t, err)
	requireBlob(t, r, d, data)
}
