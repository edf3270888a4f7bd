package registry_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/store"
)

func blobFiles(t *testing.T, s *store.FS) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.Root(), "blobs", "sha256"))
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestPutBlob(t *testing.T) {
	r, s := newRegistry(t)
	content := []byte("hello blob")
	want := digest.FromBytes(content)

	d, err := r.PutBlob(ctx, bytes.NewReader(content), "")
	require.NoError(t, err)
	assert.Equal(t, want, d.Digest)
	assert.Equal(t, int64(len(content)), d.Size)

	// Dedupe: stored once, and the reader is not even read.
	d2, err := r.PutBlob(ctx, iotestErrReader{}, want)
	require.NoError(t, err)
	assert.Equal(t, d, d2)
	d3, err := r.PutBlob(ctx, bytes.NewReader(content), "")
	require.NoError(t, err)
	assert.Equal(t, d, d3)
	assert.Equal(t, []string{want.Encoded()}, blobFiles(t, s))

	rc, size, err := r.GetBlob(ctx, want)
	require.NoError(t, err)
	got, _ := io.ReadAll(rc)
	rc.Close()
	assert.Equal(t, content, got)
	assert.Equal(t, int64(len(content)), size)

	rc, err = r.GetBlobRange(ctx, want, 6, 4)
	require.NoError(t, err)
	got, _ = io.ReadAll(rc)
	rc.Close()
	assert.Equal(t, "blob", string(got))

	has, err := r.HasBlob(ctx, want)
	require.NoError(t, err)
	assert.True(t, has)

	// Nothing is left in the staging folder.
	left, _ := os.ReadDir(s.TempDir())
	assert.Empty(t, left)
}

func TestPutBlobExpected(t *testing.T) {
	r, s := newRegistry(t)
	content := []byte("expected content")
	want := digest.FromBytes(content)
	d, err := r.PutBlob(ctx, bytes.NewReader(content), want)
	require.NoError(t, err)
	assert.Equal(t, int64(len(content)), d.Size)

	wrong := digest.FromString("something else")
	_, err = r.PutBlob(ctx, bytes.NewReader(content), wrong)
	var dm *registry.DigestMismatchError
	require.ErrorAs(t, err, &dm)
	assert.Equal(t, wrong, dm.Expected)
	assert.Equal(t, want, dm.Actual)
	has, err := r.HasBlob(ctx, wrong)
	require.NoError(t, err)
	assert.False(t, has, "a mismatching blob is not stored")
	assert.Equal(t, []string{want.Encoded()}, blobFiles(t, s))

	var inv *registry.InvalidNameError
	_, err = r.PutBlob(ctx, bytes.NewReader(content), "sha256:nothex")
	assert.ErrorAs(t, err, &inv)
	_, err = r.PutBlob(ctx, bytes.NewReader(content), digest.SHA384.FromBytes(content))
	assert.ErrorAs(t, err, &inv, "only sha256 and sha512")
	d512 := digest.SHA512.FromBytes(content)
	_, err = r.PutBlob(ctx, bytes.NewReader(content), d512)
	require.NoError(t, err, "sha512 blobs are stored (OCI pushes them)")
	rc, size, err := r.GetBlob(ctx, d512)
	require.NoError(t, err)
	got, _ := io.ReadAll(rc)
	rc.Close()
	assert.Equal(t, content, got)
	assert.Equal(t, int64(len(content)), size)
}

func TestBlobUnknown(t *testing.T) {
	r, _ := newRegistry(t)
	d := digest.FromString("nope")
	var bu *registry.BlobUnknownError
	_, err := r.BlobSize(ctx, d)
	require.ErrorAs(t, err, &bu)
	assert.Equal(t, d, bu.Digest)
	_, _, err = r.GetBlob(ctx, d)
	assert.ErrorAs(t, err, &bu)
	has, err := r.HasBlob(ctx, d)
	require.NoError(t, err)
	assert.False(t, has)
}

func writeFile(t *testing.T, dir, content string) string {
	t.Helper()
	f, err := os.CreateTemp(dir, "layer-*")
	require.NoError(t, err)
	_, err = f.WriteString(content)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return f.Name()
}

func TestPutBlobFile(t *testing.T) {
	r, s := newRegistry(t)

	// Trusted, staged in the store's TempDir: moved in.
	path := writeFile(t, s.TempDir(), "layer one")
	d := digest.FromString("layer one")
	desc, err := r.PutBlobFile(ctx, path, d, true)
	require.NoError(t, err)
	assert.Equal(t, int64(9), desc.Size)
	assert.NoFileExists(t, path, "the file is consumed")
	assert.FileExists(t, filepath.Join(s.Root(), "blobs", "sha256", d.Encoded()))

	// Untrusted and wrong: refused, the file stays.
	path = writeFile(t, t.TempDir(), "layer two")
	_, err = r.PutBlobFile(ctx, path, digest.FromString("not layer two"), false)
	var dm *registry.DigestMismatchError
	require.ErrorAs(t, err, &dm)
	assert.FileExists(t, path)

	// Untrusted and right, from another folder.
	desc, err = r.PutBlobFile(ctx, path, digest.FromString("layer two"), false)
	require.NoError(t, err)
	assert.Equal(t, int64(9), desc.Size)
	assert.NoFileExists(t, path)

	// Already stored: the file is removed, the blob kept.
	path = writeFile(t, s.TempDir(), "layer one")
	_, err = r.PutBlobFile(ctx, path, d, true)
	require.NoError(t, err)
	assert.NoFileExists(t, path)
	assert.Len(t, blobFiles(t, s), 2)
}

// plainStore hides the FS's optional interfaces (Ingester, TempDirer).
type plainStore struct{ store.Store }

func TestBlobsOnPlainStore(t *testing.T) {
	s := newFS(t)
	r := registry.New(plainStore{s})
	d, err := r.PutBlob(ctx, bytes.NewReader([]byte("plain")), "")
	require.NoError(t, err)
	assert.Equal(t, digest.FromString("plain"), d.Digest)

	path := writeFile(t, t.TempDir(), "plain file")
	_, err = r.PutBlobFile(ctx, path, digest.FromString("plain file"), false)
	require.NoError(t, err)
	assert.NoFileExists(t, path)
	assert.Len(t, blobFiles(t, s), 2)

	v := build(t, r, "self", "plain", "p")
	assert.Equal(t, 0, v.Number)
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }
