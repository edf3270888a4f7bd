package s3store

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/sdk"
)

var _ sdk.URLPutter = (*Store)(nil)

// StartURLPut implements sdk.URLPutter: the host sends a sized value's
// bytes to S3 itself, to a presigned PutObject (up to SinglePutSize, as
// Put sends it) or to the presigned UploadParts of a multipart upload
// created here with CRC-32 checksums, PartSize bytes each (doubled until
// the value fits in 10000 parts); the host retries as the SDK does here
// (max_attempts, max_backoff). Endpoints where SigV4 signs the
// payload's SHA-256 (plain HTTP beyond the loopback, integrity.go) get
// store.ErrNoURL: a presigned request carries none, so the bytes go
// through the plugin there.
func (s *Store) StartURLPut(ctx context.Context, key string, size int64, opts store.PutOptions) (sdk.URLPutPlan, error) {
	if err := store.ValidateKey(key); err != nil {
		return sdk.URLPutPlan{}, err
	}
	if size <= 0 || !s.unsignedPayload() {
		return sdk.URLPutPlan{}, store.ErrNoURL
	}
	if opts.IfNoneMatch && opts.IfMatch != "" {
		return sdk.URLPutPlan{}, fmt.Errorf("s3 store: put %s: IfNoneMatch and IfMatch cannot be combined", key)
	}
	if err := s.precheck(ctx, key, opts); err != nil {
		return sdk.URLPutPlan{}, err
	}
	plan := sdk.URLPutPlan{PartSize: size, MaxAttempts: s.cfg.MaxAttempts, MaxBackoff: s.cfg.MaxBackoff}
	if size <= s.cfg.SinglePutSize {
		return plan, nil
	}
	partSize := s.cfg.PartSize
	for (size+partSize-1)/partSize > maxParts && partSize < maxPartSize {
		partSize *= 2
	}
	if (size+partSize-1)/partSize > maxParts {
		return sdk.URLPutPlan{}, fmt.Errorf("s3 store: put %s: %d bytes do not fit in %d parts", key, size, maxParts)
	}
	created, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:            aws.String(s.cfg.Bucket),
		Key:               s.object(key),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
	})
	if err != nil {
		return sdk.URLPutPlan{}, s.mapError("put", key, err)
	}
	plan.UploadID, plan.PartSize = aws.ToString(created.UploadId), partSize
	return plan, nil
}

// PutURL implements sdk.URLPutter: a presigned PutObject (n 0, no upload;
// with the Put's conditions) or UploadPart with its Content-Length and
// x-amz-checksum-crc32 signed, so S3 refuses a body of another length or
// CRC-32.
func (s *Store) PutURL(ctx context.Context, key, uploadID string, n int32, size int64, crc uint32, opts store.PutOptions) (string, http.Header, error) {
	if err := store.ValidateKey(key); err != nil {
		return "", nil, err
	}
	sum := crc32Base64(crc)
	ps := s3.NewPresignClient(s.client)
	if uploadID == "" {
		in := &s3.PutObjectInput{
			Bucket:        aws.String(s.cfg.Bucket),
			Key:           s.object(key),
			ContentLength: aws.Int64(size),
			ChecksumCRC32: aws.String(sum),
		}
		in.IfNoneMatch, in.IfMatch = conditions(opts)
		r, err := ps.PresignPutObject(ctx, in, s3.WithPresignExpires(urlExpiry))
		if err != nil {
			return "", nil, fmt.Errorf("s3 store: presign put %s: %w", key, err)
		}
		return r.URL, r.SignedHeader, nil
	}
	if n < 1 || n > maxParts {
		return "", nil, fmt.Errorf("s3 store: put %s: part number %d is not 1 to %d", key, n, maxParts)
	}
	r, err := ps.PresignUploadPart(ctx, &s3.UploadPartInput{
		Bucket:        aws.String(s.cfg.Bucket),
		Key:           s.object(key),
		UploadId:      aws.String(uploadID),
		PartNumber:    aws.Int32(n),
		ContentLength: aws.Int64(size),
		ChecksumCRC32: aws.String(sum),
	}, s3.WithPresignExpires(urlExpiry))
	if err != nil {
		return "", nil, fmt.Errorf("s3 store: presign put %s part %d: %w", key, n, err)
	}
	return r.URL, r.SignedHeader, nil
}

// FinishURLPut implements sdk.URLPutter: the stored parts are listed and
// must be exactly the parts the host sent (numbers, ETags, sizes), then
// CompleteMultipartUpload publishes the value, with the Put's conditions
// (retried on 409 ConditionalRequestConflict). Anything else, and abort,
// aborts the upload.
func (s *Store) FinishURLPut(ctx context.Context, key, uploadID string, parts []sdk.URLPart, opts store.PutOptions, abort bool) error {
	if err := store.ValidateKey(key); err != nil {
		return err
	}
	id := aws.String(uploadID)
	if abort {
		s.abort(ctx, key, id)
		return nil
	}
	completed := false
	defer func() {
		if !completed {
			s.abort(ctx, key, id)
		}
	}()
	if err := s.checkParts(ctx, key, id, parts); err != nil {
		return err
	}
	cp := make([]types.CompletedPart, len(parts))
	for i, p := range parts {
		cp[i] = types.CompletedPart{PartNumber: aws.Int32(p.Number), ETag: aws.String(p.ETag), ChecksumCRC32: aws.String(crc32Base64(p.CRC32))}
	}
	if err := s.complete(ctx, "put", key, id, cp, opts); err != nil {
		return err
	}
	completed = true
	return nil
}

// checkParts says whether the parts S3 holds for upload id are exactly
// want, in order, with their ETags and sizes.
func (s *Store) checkParts(ctx context.Context, key string, id *string, want []sdk.URLPart) error {
	i := 0
	pg := s3.NewListPartsPaginator(s.client, &s3.ListPartsInput{Bucket: aws.String(s.cfg.Bucket), Key: s.object(key), UploadId: id})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			return s.mapError("put", key, err)
		}
		for _, p := range out.Parts {
			if i >= len(want) || aws.ToInt32(p.PartNumber) != want[i].Number ||
				unquote(aws.ToString(p.ETag)) != unquote(want[i].ETag) || aws.ToInt64(p.Size) != want[i].Size {
				return fmt.Errorf("s3 store: put %s: the parts stored are not the parts sent (part %d: %d bytes stored)",
					key, aws.ToInt32(p.PartNumber), aws.ToInt64(p.Size))
			}
			i++
		}
	}
	if i != len(want) {
		return fmt.Errorf("s3 store: put %s: %d parts stored, %d sent", key, i, len(want))
	}
	return nil
}

// crc32Base64 is a CRC-32 as S3's checksum headers write it.
func crc32Base64(crc uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], crc)
	return base64.StdEncoding.EncodeToString(b[:])
}
