package s3store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/swcli/swcli/core/store"
)

// maxCopySize is the largest object CopyObject copies, and the largest
// range one UploadPartCopy copies (S3's limits).
const maxCopySize = 5 << 30

var _ store.Composer = (*Store)(nil)

// Compose implements store.Composer with S3's copies inside the service,
// so no byte of the value travels to the store and back (the registry
// composes every pushed blob from its upload chunks: through the plugin,
// that was a Get and a Put of every byte pushed):
//
//   - one src up to 5 GiB: one CopyObject;
//   - several srcs (or a larger one): a multipart upload whose parts are
//     UploadPartCopy of each src (in ranges of up to 5 GiB), Concurrency at
//     a time, published by CompleteMultipartUpload and aborted on failure,
//     as a multipart Put is. S3 wants every part but the last to be at
//     least 5 MiB: when a smaller src is not the last, or there would be
//     more than 10000 parts, the value is streamed through the store
//     instead (store.ComposeOf without the capability: still inside the
//     plugin).
//
// dst appears atomically (both publish the object whole). A missing src is
// *store.NotFoundError naming it.
func (s *Store) Compose(ctx context.Context, dst string, srcs []string) error {
	for _, k := range append([]string{dst}, srcs...) {
		if err := store.ValidateKey(k); err != nil {
			return err
		}
	}
	if len(srcs) == 1 {
		_, err := s.client.CopyObject(ctx, &s3.CopyObjectInput{
			Bucket:     aws.String(s.cfg.Bucket),
			Key:        s.object(dst),
			CopySource: s.copySource(srcs[0]),
		})
		switch code, _ := errorCode(err); {
		case err == nil:
			return nil
		case isCopyUnsupported(err):
			return s.composeStreaming(ctx, dst, srcs)
		case code != "EntityTooLarge" && code != "InvalidRequest":
			var nf *store.NotFoundError
			if err := s.mapError("compose", dst, err); !errors.As(err, &nf) {
				return err
			}
			return &store.NotFoundError{Key: srcs[0]} // the source is what is missing
		}
		// larger than CopyObject takes: copy it in ranges below
	}
	ranges, ok, err := s.copyRanges(ctx, srcs)
	if err != nil {
		return err
	}
	if !ok {
		return s.composeStreaming(ctx, dst, srcs)
	}
	if err := s.composeParts(ctx, dst, ranges); !isCopyUnsupported(err) {
		return err
	}
	return s.composeStreaming(ctx, dst, srcs)
}

// composeStreaming composes by reading every src through one Put, for what
// the service cannot copy itself.
func (s *Store) composeStreaming(ctx context.Context, dst string, srcs []string) error {
	// an interface value holding s hides its Compose
	return store.ComposeOf(ctx, struct{ store.Store }{s}, dst, srcs)
}

// copySource is the x-amz-copy-source of key: bucket and object, escaped.
func (s *Store) copySource(key string) *string {
	return aws.String((&url.URL{Path: s.cfg.Bucket + "/" + s.cfg.Prefix + key}).EscapedPath())
}

// copyRange is one part of a composed value: bytes first..last of src.
type copyRange struct {
	src         string
	first, last int64
}

// copyRanges stats every src and cuts them into the parts of a multipart
// copy; ok is false when S3's part rules do not allow one (a src under
// 5 MiB that is not last, too many parts).
func (s *Store) copyRanges(ctx context.Context, srcs []string) ([]copyRange, bool, error) {
	var out []copyRange
	for i, k := range srcs {
		info, err := s.Stat(ctx, k)
		if err != nil {
			return nil, false, err
		}
		if info.Size < MinPartSize && i < len(srcs)-1 {
			return nil, false, nil
		}
		for off := int64(0); off < info.Size || (off == 0 && len(srcs) == 1); off += maxCopySize {
			out = append(out, copyRange{src: k, first: off, last: min(off+maxCopySize, info.Size) - 1})
		}
	}
	if len(out) == 0 || len(out) > maxParts || out[0].last < 0 {
		return nil, false, nil // nothing to copy (empty values) or too many parts
	}
	for _, r := range out[:len(out)-1] {
		if r.last-r.first+1 < MinPartSize { // the tail of a src over 5 GiB
			return nil, false, nil
		}
	}
	return out, true, nil
}

// composeParts copies ranges into dst as the parts of one multipart upload.
func (s *Store) composeParts(ctx context.Context, dst string, ranges []copyRange) error {
	return s.multipart(ctx, "compose", dst, store.PutOptions{}, func(uploadID *string) ([]types.CompletedPart, error) {
		return s.copyParts(ctx, dst, uploadID, ranges)
	})
}

// copyParts copies each range as a part of upload uploadID, Concurrency at
// a time; after a failure no new part is started.
func (s *Store) copyParts(ctx context.Context, dst string, uploadID *string, ranges []copyRange) ([]types.CompletedPart, error) {
	parts := make([]types.CompletedPart, len(ranges))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		slots    = make(chan struct{}, s.cfg.Concurrency)
	)
	for i, r := range ranges {
		slots <- struct{}{}
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			<-slots
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			n := int32(i + 1)
			out, err := s.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
				Bucket:          aws.String(s.cfg.Bucket),
				Key:             s.object(dst),
				UploadId:        uploadID,
				PartNumber:      aws.Int32(n),
				CopySource:      s.copySource(r.src),
				CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", r.first, r.last)),
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					var nf *store.NotFoundError
					if firstErr = s.mapError("compose", dst, err); errors.As(firstErr, &nf) {
						firstErr = &store.NotFoundError{Key: r.src}
					}
				}
				return
			}
			parts[i] = types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.CopyPartResult.ETag}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return nil, firstErr // isCopyUnsupported: the caller streams instead
	}
	return parts, nil
}

// isCopyUnsupported says the service does not do server-side copies.
func isCopyUnsupported(err error) bool {
	code, status := errorCode(err)
	return code == "NotImplemented" || status == 501 || strings.Contains(code, "NotSupported")
}
