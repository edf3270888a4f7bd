package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/swcli/swcli/core/store"
)

var _ store.SizedPutter = (*Store)(nil)

// PutSized implements store.SizedPutter. A value larger than
// SinglePutSize streams as it arrives into the parts of one multipart
// upload, each
// UploadPart sent with its Content-Length while the caller is still
// sending the rest: nothing is held in memory, and the service stores the
// value while it is received (a pushed blob is received and stored at
// once, not received into memory and then stored). The reader is a
// store.ExactReader, and the upload is completed only once every part
// went out whole and the reader ended cleanly at the announced size;
// anything else aborts it, so nothing is stored. (One PutObject streamed
// the same way would be one request less, but is not safe on every
// service: versitygw v1.8.0 stores a PutObject whose body was cut short
// at the length it got; parts are invisible until completed.)
//
// The others go through Put (the size still checked): values up to
// SinglePutSize (one PutObject from memory: measured on versitygw, a 50
// MiB blob streamed into parts pushed at 0.5-0.7x of one PutObject, whose
// service stores one file where a multipart upload stores the parts and
// then copies them into the object), and endpoints
// where SigV4 signs the payload's SHA-256 (plain HTTP beyond the loopback:
// the SDK would read each part twice).
//
// The SDK's retryer can send a part again only if nothing of it was read
// (a 503 SlowDown answered to Expect: 100-continue, a refused connection);
// a failure after that aborts the upload, and the caller retries the Put.
func (s *Store) PutSized(ctx context.Context, key string, r io.Reader, size int64, opts store.PutOptions) error {
	if err := store.ValidateKey(key); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("s3 store: put %s: negative size %d", key, size)
	}
	r = store.ExactReader(r, size)
	if size <= s.cfg.SinglePutSize || !s.unsignedPayload() {
		return s.Put(ctx, key, r, opts)
	}
	if opts.IfNoneMatch && opts.IfMatch != "" {
		return fmt.Errorf("s3 store: put %s: IfNoneMatch and IfMatch cannot be combined", key)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.precheck(ctx, key, opts); err != nil {
		return err
	}
	return s.multipart(ctx, "put", key, opts, func(uploadID *string) ([]types.CompletedPart, error) {
		return s.streamParts(ctx, key, uploadID, r, size)
	})
}

// streamParts uploads the size bytes of r as the parts of upload uploadID,
// one after the other, each streamed from r.
func (s *Store) streamParts(ctx context.Context, key string, uploadID *string, r io.Reader, size int64) ([]types.CompletedPart, error) {
	var parts []types.CompletedPart
	for n, off := int32(1), int64(0); off < size; n++ {
		if n > maxParts {
			return nil, fmt.Errorf("s3 store: put %s: value larger than %d parts", key, maxParts)
		}
		ps := min(s.partSize(n), size-off)
		body := &streamBody{r: ctxReader{ctx, io.LimitReader(r, ps)}, size: ps}
		out, err := s.uploadPart(ctx, key, uploadID, n, body, ps)
		if body.err != nil && !errors.Is(body.err, io.EOF) {
			// the caller's reader failed (or gave the wrong size): that,
			// not the request cut short, is the error
			return nil, fmt.Errorf("s3 store: put %s: %w", key, body.err)
		}
		if err != nil {
			return nil, s.mapError("put", key, fmt.Errorf("part %d: %w", n, err))
		}
		if body.off != ps {
			return nil, fmt.Errorf("s3 store: put %s: part %d: the service answered after %d of its %d bytes", key, n, body.off, ps)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag})
		off += ps
	}
	return parts, nil
}

// unsignedPayload says requests to the endpoint carry no signed payload
// SHA-256 (integrity.go): AWS and other https endpoints, and loopback.
func (s *Store) unsignedPayload() bool {
	if s.cfg.Endpoint == "" || loopback(s.cfg.Endpoint) {
		return true
	}
	u, err := url.Parse(s.cfg.Endpoint)
	return err == nil && u.Scheme == "https"
}

// streamBody is a request body of size bytes read once from r. It is an
// io.Seeker only as far as the SDK needs: to learn the length (a seek to
// the end and back) and to retry a request whose body was not read yet (a
// seek to where it is). Reading anywhere but where r is fails, so a rewind
// after bytes went out makes the SDK return the request's error instead
// of sending other bytes.
type streamBody struct {
	r    io.Reader
	size int64
	off  int64 // bytes read from r
	pos  int64 // where the SDK has seeked to
	err  error // the first error r returned (io.EOF at the end)
}

func (b *streamBody) Read(p []byte) (int, error) {
	if b.pos != b.off {
		return 0, fmt.Errorf("s3 store: a streamed body cannot be read again from %d (it is at %d)", b.pos, b.off)
	}
	n, err := b.r.Read(p)
	b.off += int64(n)
	b.pos = b.off
	if err != nil && b.err == nil {
		b.err = err
	}
	return n, err
}

func (b *streamBody) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += b.pos
	case io.SeekEnd:
		offset += b.size
	}
	if offset < 0 {
		return 0, errors.New("s3 store: seek before the start")
	}
	b.pos = offset
	return offset, nil
}
