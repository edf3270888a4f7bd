package pluginwire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/pluginwire/pb"
)

// URLPutter is an optional capability of a served store: the host sends
// the bytes of a sized Put (store.SizedPutter: a pushed blob) to the
// service itself, with requests the plugin presigns, instead of through
// the plugin, which then only starts and finishes the upload (through the
// plugin every byte is received and sent once more: on S3 a third of a
// push's CPU, measured here). The plugin declares it as "url-put".
//
//   - StartURLPut says how size bytes for key are sent (URLPutPlan): no
//     UploadID is one request for the whole value (PutURL with part 0),
//     else a multipart upload with parts of PartSize bytes (the last one
//     shorter); and how the host retries its requests. store.ErrNoURL
//     makes the host Put through the plugin instead. Every call carries
//     the Put's conditions (store.PutOptions): a conditional Put is
//     presigned and published with them (S3's If-None-Match and If-Match
//     on PutObject and CompleteMultipartUpload); the service's 412, or 404
//     for If-Match, is *store.PreconditionError.
//   - PutURL presigns the request that sends part n (1-based; 0 without an
//     upload: the whole value) of size bytes whose CRC-32 (IEEE) is crc:
//     the host PUTs them to the URL with the headers given and
//     Content-Length size. The service must refuse a body of another size
//     or CRC-32 (S3's signed x-amz-checksum-crc32), so a body cut short,
//     which versitygw 1.8 otherwise stores, or changed on the way is never
//     stored. For a part, the answer's ETag header names it.
//   - FinishURLPut publishes the upload from parts, in order, after
//     checking with the service that every part is stored with the size
//     the host sent; or, with abort, removes the upload and its parts. A
//     failed finish leaves nothing published and the upload aborted.
//
// The host reads every byte of a part (the whole value for one request)
// before sending it, from a reader that holds the value's last byte back
// until it ended cleanly at the announced size (store.ExactReader): a
// value that is short, long or fails (a pushed blob whose digest does not
// match) sends no last part and is aborted. The URLs are credentials until they expire: never logged, and no
// error names them.
type URLPutter interface {
	StartURLPut(ctx context.Context, key string, size int64, opts store.PutOptions) (URLPutPlan, error)
	PutURL(ctx context.Context, key, uploadID string, n int32, size int64, crc uint32, opts store.PutOptions) (url string, header http.Header, err error)
	FinishURLPut(ctx context.Context, key, uploadID string, parts []URLPart, opts store.PutOptions, abort bool) error
}

// URLPutPlan is how the host sends a url-put's bytes.
type URLPutPlan struct {
	UploadID string // "": one request
	PartSize int64  // every part's size but the last's
	// MaxAttempts and MaxBackoff configure the AWS SDK's standard retryer
	// the host retries each request with (0: the retryer's defaults).
	MaxAttempts int
	MaxBackoff  time.Duration
}

// URLPart is a part of a URLPutter upload as the host sent it.
type URLPart struct {
	Number int32
	ETag   string
	Size   int64
	CRC32  uint32
}

// PutURLFor serves URLPutter for a store that has it (and declares
// "url-put"); otherwise Unimplemented, as from an older plugin.
func (s *storeServer) PutURLFor(ctx context.Context, req *pb.PutURLRequest) (*pb.PutURLResponse, error) {
	p, ok := s.s.(URLPutter)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "this store takes no bytes from URLs")
	}
	opts := store.PutOptions{IfNoneMatch: req.IfNoneMatch, IfMatch: req.IfMatch}
	switch {
	case req.Presign:
		u, h, err := p.PutURL(ctx, req.Key, req.UploadId, req.PartNumber, req.Size, req.Crc32, opts)
		if err != nil {
			return nil, storeStatus(err)
		}
		return &pb.PutURLResponse{Url: u, Header: headerMap(h)}, nil
	case req.Finish || req.Abort:
		parts := make([]URLPart, len(req.Parts))
		for i, pp := range req.Parts {
			parts[i] = URLPart{Number: pp.Number, ETag: pp.Etag, Size: pp.Size, CRC32: pp.Crc32}
		}
		return &pb.PutURLResponse{}, storeStatus(p.FinishURLPut(ctx, req.Key, req.UploadId, parts, opts, req.Abort))
	}
	plan, err := p.StartURLPut(ctx, req.Key, req.Size, opts)
	if errors.Is(err, store.ErrNoURL) {
		return nil, status.Error(codes.Unimplemented, err.Error())
	}
	if err != nil {
		return nil, storeStatus(err)
	}
	return &pb.PutURLResponse{UploadId: plan.UploadID, PartSize: plan.PartSize,
		MaxAttempts: int32(plan.MaxAttempts), MaxBackoffMs: plan.MaxBackoff.Milliseconds()}, nil
}

// headerMap is h on the wire: one value per name, Host left out (net/http
// sends it from the URL).
func headerMap(h http.Header) map[string]string {
	m := map[string]string{}
	for k, v := range h {
		if len(v) > 0 && !strings.EqualFold(k, "Host") {
			m[k] = v[0]
		}
	}
	return m
}

// finishTimeout bounds the abort sent after a failed url-put (its context
// may be canceled already).
const finishTimeout = 30 * time.Second

// urlPut puts the size bytes of r (an ExactReader) at key by sending them
// to the URLs the plugin presigns. handled is false when the plugin wants
// the bytes itself (it has no URLs for this value): then nothing of r was
// read.
func (c *StoreClient) urlPut(ctx context.Context, key string, r io.Reader, size int64, opts store.PutOptions) (handled bool, err error) {
	// every request carries the conditions
	step := func(req *pb.PutURLRequest) *pb.PutURLRequest {
		req.Key, req.IfNoneMatch, req.IfMatch = key, opts.IfNoneMatch, opts.IfMatch
		return req
	}
	start, err := c.c.PutURLFor(ctx, step(&pb.PutURLRequest{Size: size}))
	if st, _ := status.FromError(err); err != nil && st.Code() == codes.Unimplemented {
		return false, nil
	}
	if err != nil {
		return true, storeErr(err, key)
	}
	rt := retry.NewStandard(func(o *retry.StandardOptions) {
		if start.MaxAttempts > 0 {
			o.MaxAttempts = int(start.MaxAttempts)
		}
		if start.MaxBackoffMs > 0 {
			o.MaxBackoff = time.Duration(start.MaxBackoffMs) * time.Millisecond
			o.Backoff = retry.NewExponentialJitterBackoff(o.MaxBackoff)
		}
	})
	if start.UploadId == "" {
		buf := getBuffer(size)
		defer putBuffer(buf)
		if _, err := io.ReadFull(r, buf); err != nil {
			return true, err
		}
		_, err := c.sendPart(ctx, rt, step, "", 0, buf)
		return true, err
	}
	if start.PartSize <= 0 {
		return true, fmt.Errorf("plugin store: put %s: the plugin gave part size %d", key, start.PartSize)
	}
	var parts []*pb.PutURLPart
	err = func() error {
		// part n is read into bufs[n%2] while part n-1 is sent from the
		// other: receiving and sending overlap
		type sent struct {
			p   *pb.PutURLPart
			err error
		}
		var pending chan sent // the part being sent, if any
		wait := func() error {
			if pending == nil {
				return nil
			}
			s := <-pending
			pending = nil
			if s.err == nil {
				parts = append(parts, s.p)
			}
			return s.err
		}
		ps := min(start.PartSize, size)
		bufs := [2][]byte{getBuffer(ps), getBuffer(ps)}
		defer putBuffer(bufs[0])
		defer putBuffer(bufs[1])
		defer func() { _ = wait() }() // runs first: no send outlives the buffers
		for n, off := int32(1), int64(0); off < size; n++ {
			b := bufs[n%2][:min(start.PartSize, size-off)]
			_, rerr := io.ReadFull(r, b)
			if err := wait(); err != nil {
				return err
			}
			if rerr != nil {
				return rerr
			}
			ch := make(chan sent, 1)
			go func(n int32, b []byte) {
				p, err := c.sendPart(ctx, rt, step, start.UploadId, n, b)
				ch <- sent{p, err}
			}(n, b)
			pending = ch
			off += int64(len(b))
		}
		if err := wait(); err != nil {
			return err
		}
		_, err := c.c.PutURLFor(ctx, step(&pb.PutURLRequest{UploadId: start.UploadId, Parts: parts, Finish: true}))
		return storeErr(err, key)
	}()
	if err != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
		defer cancel()
		_, _ = c.c.PutURLFor(actx, step(&pb.PutURLRequest{UploadId: start.UploadId, Abort: true}))
	}
	return true, err
}

// buffers are the byte buffers of url-puts, reused: a push of many blobs
// would otherwise allocate (and zero) every byte it sends once more.
var buffers sync.Pool

// getBuffer is a buffer of n bytes, from the pool when one is large enough.
func getBuffer(n int64) []byte {
	if b, ok := buffers.Get().(*[]byte); ok {
		if int64(cap(*b)) >= n {
			return (*b)[:n]
		}
		buffers.Put(b)
	}
	return make([]byte, n)
}

func putBuffer(b []byte) { buffers.Put(&b) }

// sendPart sends b, part n of upload uploadID ("": the whole value), to
// the URL the plugin presigns for it, retrying what rt, the AWS SDK's
// standard retryer configured as the store is, retries (throttling, 5xx,
// dropped connections: b is in memory, so it can be sent again), and
// gives the part as sent. A conditional one-request Put whose condition
// fails is *store.PreconditionError; one that meets another conditional
// write in flight (409 ConditionalRequestConflict) is tried again, as S3
// asks.
func (c *StoreClient) sendPart(ctx context.Context, rt *retry.Standard, step func(*pb.PutURLRequest) *pb.PutURLRequest, uploadID string, n int32, b []byte) (*pb.PutURLPart, error) {
	p := &pb.PutURLPart{Number: n, Size: int64(len(b)), Crc32: crc32.ChecksumIEEE(b)}
	for attempt := 1; ; attempt++ {
		req := step(&pb.PutURLRequest{UploadId: uploadID, PartNumber: n, Size: p.Size, Crc32: p.Crc32, Presign: true})
		key := req.Key
		u, err := c.c.PutURLFor(ctx, req)
		if err != nil {
			return nil, storeErr(err, key)
		}
		etag, err := putURL(ctx, u, b)
		if err == nil {
			p.Etag = etag
			return p, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var se *ServiceError
		conflict := errors.As(err, &se) && se.Code == "ConditionalRequestConflict"
		if errors.As(err, &se) && (se.Status == http.StatusPreconditionFailed || (se.Status == http.StatusNotFound && req.IfMatch != "")) {
			return nil, &store.PreconditionError{Key: key}
		}
		if attempt >= rt.MaxAttempts() || !(conflict || rt.IsErrorRetryable(err)) {
			return nil, fmt.Errorf("plugin store: put %s: part %d: %w", key, n, err)
		}
		d, derr := rt.RetryDelay(attempt, err)
		if derr != nil {
			return nil, fmt.Errorf("plugin store: put %s: part %d: %w", key, n, err)
		}
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// putURL PUTs b to the presigned u and gives the answer's ETag. Its errors
// never name the URL (a credential).
func putURL(ctx context.Context, u *pb.PutURLResponse, b []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.Url, bytes.NewReader(b))
	if err != nil {
		return "", errors.New("the plugin gave a URL that does not parse")
	}
	req.ContentLength = int64(len(b))
	for k, v := range u.Header {
		if !strings.EqualFold(k, "Content-Length") {
			req.Header.Set(k, v)
		}
	}
	resp, err := urlClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL; net errors stay inside, for the retryer
		}
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return "", &ServiceError{Status: resp.StatusCode, Code: xmlCode(body)}
	}
	return resp.Header.Get("ETag"), nil
}

// ServiceError is a service's refusal of a request to a presigned URL: the
// HTTP status and the error code of its answer (S3's <Code>), which the
// SDK's retryer reads (HTTPStatusCode, ErrorCode).
type ServiceError struct {
	Status int
	Code   string
}

func (e *ServiceError) Error() string {
	return fmt.Sprintf("the service answered %d %s", e.Status, e.Code)
}
func (e *ServiceError) HTTPStatusCode() int { return e.Status }
func (e *ServiceError) ErrorCode() string   { return e.Code }

var codeRE = regexp.MustCompile(`<Code>([^<]{1,64})</Code>`)

// xmlCode is the <Code> of an S3 error answer, or "".
func xmlCode(b []byte) string {
	if m := codeRE.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return ""
}
