package registry

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/store"
)

// PutBlob stores the content of rd as a blob and returns its digest and
// size. A blob that is already stored is not written again (and rd is not
// read).
//
// With expected set, the content streams straight into the store through a
// verifying reader: if it does not hash to expected, the put fails with
// *DigestMismatchError and nothing is stored. Without it, the content is
// staged in a temporary file while hashing (in the store's TempDir when it
// has one, so an Ingester store moves it in without a copy).
func (r *Registry) PutBlob(ctx context.Context, rd io.Reader, expected digest.Digest) (ocispec.Descriptor, error) {
	if expected != "" {
		return r.putBlobExpected(ctx, rd, expected, -1)
	}
	dir := os.TempDir()
	if td, ok := r.s.(store.TempDirer); ok {
		dir = td.TempDir()
	}
	f, err := os.CreateTemp(dir, "blob-*")
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("registry: put blob: %w", err)
	}
	tmp := f.Name()
	stored := false
	defer func() {
		if !stored {
			_ = os.Remove(tmp)
		}
	}()
	digester := digest.SHA256.Digester()
	n, err := io.Copy(io.MultiWriter(f, digester.Hash()), rd)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("registry: put blob: %w", err)
	}
	d := digester.Digest()
	if size, err := r.BlobSize(ctx, d); err == nil {
		return ocispec.Descriptor{Digest: d, Size: size}, nil
	}
	if err := r.storeFile(ctx, tmp, d); err != nil {
		return ocispec.Descriptor{}, err
	}
	stored = true
	return ocispec.Descriptor{Digest: d, Size: n}, nil
}

// putBlobExpected streams rd into blob expected through a verifying
// reader; size >= 0 is rd's length when the caller knows it (a request's
// Content-Length), so the store can stream the bytes on as they arrive
// (store.PutSized; rd must then give exactly size bytes).
func (r *Registry) putBlobExpected(ctx context.Context, rd io.Reader, expected digest.Digest, size int64) (ocispec.Descriptor, error) {
	if err := checkDigest(expected); err != nil {
		return ocispec.Descriptor{}, err
	}
	if size, err := r.BlobSize(ctx, expected); err == nil {
		return ocispec.Descriptor{Digest: expected, Size: size}, nil
	}
	vr := &verifyingReader{r: rd, expected: expected, digester: expected.Algorithm().Digester()}
	if err := store.PutSized(ctx, r.s, blobKey(expected), vr, size, store.PutOptions{}); err != nil {
		if vr.mismatch != nil {
			return ocispec.Descriptor{}, vr.mismatch
		}
		return ocispec.Descriptor{}, fmt.Errorf("registry: put blob %s: %w", expected, err)
	}
	return ocispec.Descriptor{Digest: expected, Size: vr.n}, nil
}

// verifyingReader hashes what it passes on and, at the end, fails instead of
// returning io.EOF when the content does not match: the store's atomic put
// then stores nothing.
type verifyingReader struct {
	r        io.Reader
	expected digest.Digest
	digester digest.Digester
	n        int64
	mismatch *DigestMismatchError
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.n += int64(n)
	_, _ = v.digester.Hash().Write(p[:n])
	if err == io.EOF {
		if actual := v.digester.Digest(); actual != v.expected {
			v.mismatch = &DigestMismatchError{Expected: v.expected, Actual: actual}
			return n, v.mismatch
		}
	}
	return n, err
}

// PutBlobFile stores the local file at path as the blob d and consumes the
// file: on success it is gone (moved into an Ingester store, or copied and
// removed, or removed because the blob was already stored). Unless trusted,
// the file is hashed first and a mismatch gives *DigestMismatchError (the
// file stays). Callers that hashed the file while writing it (the bundle
// builder) pass trusted; they should write it in the store's TempDir.
func (r *Registry) PutBlobFile(ctx context.Context, path string, d digest.Digest, trusted bool) (ocispec.Descriptor, error) {
	if err := checkDigest(d); err != nil {
		return ocispec.Descriptor{}, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("registry: put blob %s: %w", d, err)
	}
	if !fi.Mode().IsRegular() {
		return ocispec.Descriptor{}, fmt.Errorf("registry: put blob %s: %s is not a regular file", d, path)
	}
	if !trusted {
		f, err := os.Open(path)
		if err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("registry: put blob %s: %w", d, err)
		}
		actual, err := digest.SHA256.FromReader(f)
		_ = f.Close()
		if err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("registry: put blob %s: %w", d, err)
		}
		if actual != d {
			return ocispec.Descriptor{}, &DigestMismatchError{Expected: d, Actual: actual}
		}
	}
	if size, err := r.BlobSize(ctx, d); err == nil {
		_ = os.Remove(path)
		return ocispec.Descriptor{Digest: d, Size: size}, nil
	}
	if err := r.storeFile(ctx, path, d); err != nil {
		return ocispec.Descriptor{}, err
	}
	return ocispec.Descriptor{Digest: d, Size: fi.Size()}, nil
}

// storeFile moves (Ingester) or copies the file at path to blob d and
// removes it.
func (r *Registry) storeFile(ctx context.Context, path string, d digest.Digest) error {
	if ing, ok := r.s.(store.Ingester); ok {
		if err := ing.Ingest(ctx, blobKey(d), path); err != nil {
			return fmt.Errorf("registry: put blob %s: %w", d, err)
		}
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("registry: put blob %s: %w", d, err)
	}
	err = r.s.Put(ctx, blobKey(d), f, store.PutOptions{})
	_ = f.Close()
	if err != nil {
		return fmt.Errorf("registry: put blob %s: %w", d, err)
	}
	_ = os.Remove(path)
	return nil
}

// HasBlob reports whether blob d is stored. A caller that then skips
// writing it relies on it: it is leased first (see GC).
func (r *Registry) HasBlob(ctx context.Context, d digest.Digest) (bool, error) {
	if err := checkDigest(d); err != nil {
		return false, err
	}
	if err := r.touch(ctx, d); err != nil {
		return false, err
	}
	_, err := r.BlobSize(ctx, d)
	if _, ok := err.(*BlobUnknownError); ok {
		return false, nil
	}
	return err == nil, err
}

// BlobSize returns the size of blob d, or *BlobUnknownError.
func (r *Registry) BlobSize(ctx context.Context, d digest.Digest) (int64, error) {
	if err := checkDigest(d); err != nil {
		return 0, err
	}
	info, err := r.s.Stat(ctx, blobKey(d))
	if isNotFound(err) {
		return 0, &BlobUnknownError{Digest: d}
	}
	if err != nil {
		return 0, fmt.Errorf("registry: blob %s: %w", d, err)
	}
	return info.Size, nil
}

// GetBlob opens blob d and returns it with its size, or *BlobUnknownError
// (one store request where the store answers a Get with the size:
// store.GetWithInfo).
func (r *Registry) GetBlob(ctx context.Context, d digest.Digest) (io.ReadCloser, int64, error) {
	if err := checkDigest(d); err != nil {
		return nil, 0, err
	}
	rc, info, err := store.GetWithInfo(ctx, r.s, blobKey(d), 0, -1)
	if isNotFound(err) {
		return nil, 0, &BlobUnknownError{Digest: d}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("registry: blob %s: %w", d, err)
	}
	return rc, info.Size, nil
}

// GetBlobRange opens length bytes of blob d from offset (length < 0: to the
// end), for resumed downloads and HTTP range requests.
func (r *Registry) GetBlobRange(ctx context.Context, d digest.Digest, offset, length int64) (io.ReadCloser, error) {
	if err := checkDigest(d); err != nil {
		return nil, err
	}
	rc, err := r.s.Get(ctx, blobKey(d), offset, length)
	if isNotFound(err) {
		return nil, &BlobUnknownError{Digest: d}
	}
	if err != nil {
		return nil, fmt.Errorf("registry: blob %s: %w", d, err)
	}
	return rc, nil
}
