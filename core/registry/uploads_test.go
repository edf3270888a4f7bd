package registry_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// Append fails as Put does (hash states of the append layout are appended).
func (f *failStates) Append(ctx context.Context, key string, at int64, r io.Reader) (int64, error) {
	if strings.Contains(key, "/hash/") && f.fail(key) {
		f.failed.Add(1)
		return 0, errors.New("disk gone")
	}
	return f.FS.Append(ctx, key, at, r)
}

// countGets is the filesystem store counting the Gets of an upload's
// bytes (chunks, or the growing data value).
type countGets struct {
	*store.FS
	chunkGets atomic.Int32
}

func (c *countGets) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if strings.Contains(key, "/chunks/") || strings.HasSuffix(key, "/data") {
		c.chunkGets.Add(1)
	}
	return c.FS.Get(ctx, key, off, n)
}

// chunksOnly is a store without the Appender capability, as a store plugin
// (S3) is: its upload sessions keep one key per chunk, composed at the end
// by the filesystem's Composer.
type chunksOnly struct {
	store.Store
	c store.Composer
}

func (s chunksOnly) Compose(ctx context.Context, dst string, srcs []string) error {
	return s.c.Compose(ctx, dst, srcs)
}

// layouts runs test once per way a session keeps its bytes: s is the
// test's store over fs (the filesystem store, which appends), and as a
// store that cannot append.
func layouts(t *testing.T, test func(t *testing.T, wrap func(s store.Store, fs *store.FS) store.Store)) {
	t.Run("append", func(t *testing.T) {
		test(t, func(s store.Store, _ *store.FS) store.Store {
			require.Implements(t, (*store.Appender)(nil), s)
			return s
		})
	})
	t.Run("chunks", func(t *testing.T) {
		test(t, func(s store.Store, fs *store.FS) store.Store { return chunksOnly{s, fs} })
	})
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
	layouts(t, testUploadSavesHashState)
}

func testUploadSavesHashState(t *testing.T, wrap func(store.Store, *store.FS) store.Store) {
	fs := newFS(t)
	counted := &countGets{FS: fs}
	s := wrap(counted, fs)
	r := registry.New(s)
	data := randomData(t, 300<<10)
	u := pushChunks(t, r, data, 100<<10, 1, 200<<10-1)
	dataFile, _ := os.Stat(filepath.Join(fs.Root(), "uploads", u.ID, "data"))
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
	assert.Zero(t, counted.chunkGets.Load(), "no byte is read again: neither to hash nor to store the blob")
	requireBlob(t, r, d, data)
	assert.Empty(t, keysUnder(t, s, "uploads/"), "the session, its bytes and states are gone")
	if _, ok := s.(store.Appender); ok {
		blobFile, err := os.Stat(filepath.Join(fs.Root(), "blobs", "sha256", d.Encoded()))
		require.NoError(t, err)
		require.NotNil(t, dataFile, "the session's bytes were one data file")
		assert.True(t, os.SameFile(dataFile, blobFile), "the blob is the session's data file, renamed: no byte written twice")
	}
}

// TestUploadStateLostBetweenChunkAndState: a state that was never written
// (a crash after the chunk) is rebuilt from the chunks, by the next chunk
// and by finishing alike, and the blob is right.
func TestUploadStateLostBetweenChunkAndState(t *testing.T) {
	layouts(t, testUploadStateLost)
}

func testUploadStateLost(t *testing.T, wrap func(store.Store, *store.FS) store.Store) {
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
			r := registry.New(wrap(faulty, fs))
			u := pushChunks(t, r, data, 1000, 3000, len(data)-4000)
			require.NotZero(t, faulty.failed.Load(), "the fault happened")

			// another server on the same store, without the fault, finishes
			other := registry.New(wrap(fs, fs))
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
	layouts(t, testUploadStateNotAtItsBoundary)
}

func testUploadStateNotAtItsBoundary(t *testing.T, wrap func(store.Store, *store.FS) store.Store) {
	fs := newFS(t)
	s := wrap(fs, fs)
	r := registry.New(s)
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
	layouts(t, testUploadSHA512AndStoredBlob)
}

func testUploadSHA512AndStoredBlob(t *testing.T, wrap func(store.Store, *store.FS) store.Store) {
	fs := newFS(t)
	r := registry.New(wrap(fs, fs))
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
// which forwards Append and Seal (and Compose).
func TestUploadThroughCheckedStore(t *testing.T) {
	s := store.Checked("local", newFS(t))
	require.Implements(t, (*store.Appender)(nil), s)
	r := registry.New(s)
	data := randomData(t, 3<<20)
	u := pushChunks(t, r, data, 1<<20, 2<<20)
	require.Equal(t, []string{"uploads/" + u.ID + "/data"}, keysUnder(t, s, "uploads/"+u.ID+"/d"))
	d := digest.FromBytes(data)
	_, err := r.FinishUpload(ctx, "self", "app", u.ID, d)
	require.NoError(t, err)
	requireBlob(t, r, d, data)
}

// TestUploadAppendCutShortOrCrashed: in the append layout the bytes a
// failed read delivered stay (the client resumes after them), and bytes a
// crash left past the last saved state (a server killed after appending,
// before saving the state) count and are hashed at the end.
func TestUploadAppendCutShortOrCrashed(t *testing.T) {
	r, fs := newRegistry(t)
	data := randomData(t, 10000)
	d := digest.FromBytes(data)
	u, err := r.StartUpload(ctx, "self", "app")
	require.NoError(t, err)
	got, err := r.AppendUpload(ctx, "self", "app", u.ID, 0, io.MultiReader(bytes.NewReader(data[:4000]), failing{}))
	require.Error(t, err)
	assert.Equal(t, int64(4000), got.Size)
	now, err := r.GetUpload(ctx, "self", "app", u.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(4000), now.Size, "what arrived stays")
	// the crash: bytes appended without the registry's state
	_, err = fs.Append(ctx, "uploads/"+u.ID+"/data", 4000, bytes.NewReader(data[4000:7000]))
	require.NoError(t, err)
	_, err = r.AppendUpload(ctx, "self", "app", u.ID, 4000, bytes.NewReader(data[4000:]))
	var re *registry.UploadRangeError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, int64(7000), re.Size, "the client is told to resume after the crash's bytes")
	_, err = r.AppendUpload(ctx, "self", "app", u.ID, 7000, bytes.NewReader(data[7000:]))
	require.NoError(t, err)
	_, err = r.FinishUpload(ctx, "self", "app", u.ID, d)
	require.NoError(t, err)
	requireBlob(t, r, d, data)
}

// epochFS is the filesystem store whose Appender epoch the test sets (a
// reboot of the machine is a new epoch).
type epochFS struct {
	*store.FS
	epoch string
}

func (e *epochFS) Epoch() string { return e.epoch }

// TestUploadStatesOfAnEndedEpochIgnored: after the epoch changes (the
// machine restarted, and appended bytes may have been garbled), the saved
// hash states are not trusted: finishing hashes the bytes as they are, so
// garbled bytes are refused instead of stored under the digest the states
// promised.
func TestUploadStatesOfAnEndedEpochIgnored(t *testing.T) {
	fs := newFS(t)
	s := &epochFS{FS: fs, epoch: "boot:one"}
	r := registry.New(s)
	data := randomData(t, 200<<10)
	d := digest.FromBytes(data)
	u := pushChunks(t, r, data, 100<<10, 100<<10)
	require.NotEmpty(t, keysUnder(t, s, "uploads/"+u.ID+"/hash/"))

	s.epoch = "boot:two"
	path := filepath.Join(fs.Root(), "uploads", u.ID, "data")
	garbled := append([]byte(nil), data...)
	copy(garbled[150<<10:], make([]byte, 4096)) // a block lost to the crash reads as zeros
	require.NoError(t, os.WriteFile(path, garbled, 0o644))
	_, err := r.FinishUpload(ctx, "self", "app", u.ID, d)
	var dm *registry.DigestMismatchError
	require.ErrorAs(t, err, &dm, "the bytes are hashed again, not taken from the old states")
	assert.Equal(t, digest.FromBytes(garbled), dm.Actual)

	// the session's true bytes finish (the mismatch kept the session)
	require.NoError(t, os.WriteFile(path, data, 0o644))
	_, err = r.FinishUpload(ctx, "self", "app", u.ID, d)
	require.NoError(t, err)
	requireBlob(t, r, d, data)
}
