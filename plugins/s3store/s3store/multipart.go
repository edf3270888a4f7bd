package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/swcli/swcli/core/store"
)

// abortTimeout bounds the AbortMultipartUpload sent after a failed Put (its
// context may be canceled already).
const abortTimeout = 30 * time.Second

// partSize is the size of part number n (1-based): the configured size,
// doubled every 1000 parts so that 10000 parts reach S3's largest object.
func (s *Store) partSize(n int32) int64 {
	size := s.cfg.PartSize << ((n - 1) / 1000)
	return min(size, maxPartSize)
}

// putMultipart stores first (one full part) followed by the rest of r with a
// multipart upload, published by CompleteMultipartUpload (conditional when
// opts say so). Any failure aborts the upload.
func (s *Store) putMultipart(ctx context.Context, key string, first *chunks, r io.Reader, opts store.PutOptions) error {
	if err := s.precheck(ctx, key, opts); err != nil {
		return err
	}
	return s.multipart(ctx, "put", key, opts, func(uploadID *string) ([]types.CompletedPart, error) {
		return s.uploadParts(ctx, key, uploadID, first, r)
	})
}

// multipart makes key's value with one multipart upload whose parts
// upload makes, published by CompleteMultipartUpload (conditional when opts
// say so, retried on 409 ConditionalRequestConflict). Any failure aborts the
// upload.
func (s *Store) multipart(ctx context.Context, op, key string, opts store.PutOptions, upload func(uploadID *string) ([]types.CompletedPart, error)) error {
	created, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(s.cfg.Bucket),
		Key:    s.object(key),
	})
	if err != nil {
		return s.mapError(op, key, err)
	}
	uploadID := created.UploadId
	completed := false
	defer func() {
		if !completed {
			s.abort(ctx, key, uploadID)
		}
	}()

	parts, err := upload(uploadID)
	if err != nil {
		return err
	}
	if err := s.complete(ctx, op, key, uploadID, parts, opts); err != nil {
		return err
	}
	completed = true
	return nil
}

// complete publishes upload uploadID of key from parts with
// CompleteMultipartUpload (conditional when opts say so, retried on 409
// ConditionalRequestConflict). It does not abort.
func (s *Store) complete(ctx context.Context, op, key string, uploadID *string, parts []types.CompletedPart, opts store.PutOptions) error {
	for attempt := 0; ; attempt++ {
		in := &s3.CompleteMultipartUploadInput{
			Bucket:          aws.String(s.cfg.Bucket),
			Key:             s.object(key),
			UploadId:        uploadID,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		}
		in.IfNoneMatch, in.IfMatch = conditions(opts)
		_, err := s.client.CompleteMultipartUpload(ctx, in)
		if err == nil {
			return nil
		}
		if s.conflictRetry(ctx, attempt, err) {
			continue
		}
		if op != "put" {
			return s.mapError(op, key, err)
		}
		return s.putError(key, opts, err)
	}
}

// precheck fails a conditional Put early when its condition already does not
// hold, so a large upload that will lose is not sent. It is advisory: the
// condition is checked again, atomically, when the object is published.
func (s *Store) precheck(ctx context.Context, key string, opts store.PutOptions) error {
	if !opts.IfNoneMatch && opts.IfMatch == "" {
		return nil
	}
	info, err := s.Stat(ctx, key)
	var nf *store.NotFoundError
	switch {
	case errors.As(err, &nf):
		if opts.IfMatch != "" {
			return &store.PreconditionError{Key: key}
		}
		return nil
	case err != nil:
		return err
	case opts.IfNoneMatch, info.ETag != unquote(opts.IfMatch):
		return &store.PreconditionError{Key: key}
	}
	return nil
}

// uploadParts uploads first and then r in parts, Concurrency at a time, and
// returns the completed parts in order. When the reader or a part fails, no
// new part is started and the parts in flight are let finish, so that the
// abort that follows finds every part (an UploadPart cut off by the client
// may still be stored by the server after an abort, as S3 documents).
func (s *Store) uploadParts(ctx context.Context, key string, uploadID *string, first *chunks, r io.Reader) ([]types.CompletedPart, error) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		parts    []types.CompletedPart
		slots    = make(chan struct{}, s.cfg.Concurrency)
		// part buffers are reused once their UploadPart has returned, so a
		// large Put holds Concurrency+1 of them instead of making garbage
		// at the rate it sends (which let the heap grow to twice that)
		free = make(chan []byte, s.cfg.Concurrency+1)
	)
	buffer := func(size int64) []byte {
		select {
		case b := <-free:
			if int64(cap(b)) >= size {
				return b[:size]
			}
		default:
		}
		return make([]byte, size)
	}
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	// release (if not nil) gives the part's buffer back once its
	// UploadPart returned
	upload := func(n int32, body io.ReadSeeker, size int64, release func()) {
		defer wg.Done()
		defer func() { <-slots }()
		if release != nil {
			defer release()
		}
		out, err := s.uploadPart(ctx, key, uploadID, n, body, size)
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			fail(s.mapError("put", key, fmt.Errorf("part %d: %w", n, err)))
			return
		}
		mu.Lock()
		parts[n-1] = types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag}
		mu.Unlock()
	}
	start := func(n int32, body io.ReadSeeker, size int64, release func()) bool {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			fail(ctx.Err())
			return false
		}
		if failed() {
			<-slots
			return false
		}
		mu.Lock()
		parts = append(parts, types.CompletedPart{})
		mu.Unlock()
		wg.Add(1)
		go upload(n, body, size, release)
		return true
	}

	ok := start(1, first.reader(), first.size, nil) // the caller's buffer
	for n := int32(2); ok; n++ {
		if n > maxParts {
			fail(fmt.Errorf("s3 store: put %s: value larger than %d parts", key, maxParts))
			break
		}
		// a buffer no part in flight is using
		buf := buffer(s.partSize(n))
		m, err := io.ReadFull(r, buf)
		if m > 0 && (err == nil || errors.Is(err, io.ErrUnexpectedEOF)) {
			ok = start(n, bytes.NewReader(buf[:m]), int64(m), func() {
				select {
				case free <- buf[:cap(buf)]:
				default:
				}
			})
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			fail(fmt.Errorf("s3 store: put %s: %w", key, err))
			break
		}
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return parts, nil
}

// uploadPart sends size bytes of body as part n of upload uploadID.
func (s *Store) uploadPart(ctx context.Context, key string, uploadID *string, n int32, body io.Reader, size int64) (*s3.UploadPartOutput, error) {
	return s.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket:        aws.String(s.cfg.Bucket),
		Key:           s.object(key),
		UploadId:      uploadID,
		PartNumber:    aws.Int32(n),
		Body:          body,
		ContentLength: aws.Int64(size),
	})
}

// abort ends a multipart upload so that its parts are not kept (and billed).
// It runs even when ctx is canceled. S3 may still store a part whose upload
// was in flight during the abort, so abort checks that the upload is gone and
// aborts again if it is not, as the S3 documentation advises.
func (s *Store) abort(ctx context.Context, key string, uploadID *string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(50<<attempt) * time.Millisecond)
		}
		_, err = s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
			Bucket:   aws.String(s.cfg.Bucket),
			Key:      s.object(key),
			UploadId: uploadID,
		})
		if err != nil {
			if code, _ := errorCode(err); code != codeNoSuchUpload {
				continue
			}
		}
		_, err = s.client.ListParts(ctx, &s3.ListPartsInput{
			Bucket:   aws.String(s.cfg.Bucket),
			Key:      s.object(key),
			UploadId: uploadID,
		})
		if code, _ := errorCode(err); code == codeNoSuchUpload {
			return
		}
		if err == nil {
			err = errors.New("the upload is still listed after AbortMultipartUpload")
		}
	}
	s.opts.Logger.Warn("could not abort multipart upload; its parts stay until a bucket lifecycle rule removes them",
		"bucket", s.cfg.Bucket, "key", s.cfg.Prefix+key, "upload_id", aws.ToString(uploadID), "error", err)
}
