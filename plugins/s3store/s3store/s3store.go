// Package s3store is the S3 store: a store.Store whose keys are objects in
// one bucket of AWS S3 or of an S3-compatible service (MinIO, versitygw, Ceph
// RGW ...). plugins/s3store serves it as the store plugin "s3store"; tests
// and other Go programs can use it in-process.
//
// Configuration: a store URL, s3://BUCKET[/PREFIX][?endpoint=URL&region=R&
// path_style=B&part_size=S&single_put_size=S&concurrency=N&max_attempts=N&
// max_backoff=D]
// (ConfigFromURL; the host passes it in SW_STORE_URL, see core/storeurl), or
// these variables (ConfigFromEnv); both are served as Info.ConfigSchema:
//
//	SW_S3_ENDPOINT     URL of an S3-compatible service, e.g. http://127.0.0.1:7070
//	                   (empty: AWS S3)
//	SW_S3_BUCKET       the bucket (required; it must exist)
//	SW_S3_PREFIX       prefix before every key, e.g. team/swcli (optional)
//	SW_S3_REGION       region (default AWS_REGION, else us-east-1)
//	SW_S3_PATH_STYLE   true/false; default true when SW_S3_ENDPOINT is set
//	                   (ENDPOINT/BUCKET/KEY), false for AWS (BUCKET.host/KEY)
//	SW_S3_PART_SIZE    multipart part size, default 16MiB, at least 5MiB
//	SW_S3_SINGLE_PUT_SIZE
//	                   largest value sent with one PutObject, default 64MiB
//	SW_S3_CONCURRENCY  parts of one Put uploaded at once, default 4
//	SW_S3_MAX_ATTEMPTS, SW_S3_MAX_BACKOFF
//	                   the SDK's standard retryer (default 6 attempts, 5s):
//	                   throttling, 5xx and dropped connections are retried
//	AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
//	                   credentials; when unset, the AWS SDK's default chain
//	                   (shared files; for AWS also SSO and instance roles)
//
// How it keeps the store contract:
//
//   - Keys are checked with store.ValidateKey and stored as PREFIX+key.
//   - Put streams: a value up to SinglePutSize is sent with one PutObject;
//     a larger one with a multipart upload (its first part the
//     SinglePutSize bytes read, then PartSize parts, Concurrency at a time),
//     holding at most SinglePutSize + Concurrency*PartSize bytes in memory. S3 publishes an object only when its PutObject or
//     CompleteMultipartUpload succeeds, so readers never see a part of a
//     value. When the reader or the context fails, the multipart upload is
//     aborted, so nothing is left behind (not even stored parts).
//   - Conditional puts use S3 conditional writes, evaluated by the server at
//     the moment it publishes the object, so they are atomic against every
//     other writer: IfNoneMatch sends "If-None-Match: *", IfMatch sends
//     "If-Match: ETag" (on PutObject, or on CompleteMultipartUpload for large
//     values, after an advisory HeadObject so a lost race does not upload
//     everything first). 412 PreconditionFailed, and for IfMatch a missing
//     key, give *store.PreconditionError; 409 ConditionalRequestConflict (a
//     concurrent write in flight on AWS) is retried. This needs a service
//     with conditional writes: AWS S3 (since 2024), versitygw (v1.8.0 checks
//     them under a per-key publish lock). A service that
//     ignores the headers would make conditional puts unconditional; the
//     store cannot detect that by itself.
//   - ETag is the object's S3 ETag without quotes: the MD5 of the content
//     for single puts, "MD5-of-part-MD5s-N" for multipart uploads. It
//     changes whenever the content changes. List fills it too.
//   - Get maps offset and length to an HTTP Range; an offset at or past the
//     end gives an empty value (S3's 416 for an existing key).
//   - List uses ListObjectsV2, page by page; S3 returns keys in UTF-8 byte
//     order, which is the lexical order of valid keys. Objects under the
//     prefix whose names are not valid keys (folder markers "x/", names
//     written by other tools) are skipped.
//   - Delete is DeleteObject, which succeeds for a missing key.
//   - PutSized (store.SizedPutter, sized.go): a value whose size the
//     caller knows, larger than SinglePutSize, streams into the parts of
//     one multipart upload as it arrives (nothing held in memory),
//     completed only once the reader ended cleanly at that size.
//   - Compose (store.Composer) copies inside S3: CopyObject, or
//     UploadPartCopy parts of one multipart upload (compose.go).
//   - GetURL (sdk.URLGetter) presigns a GetObject, so the host reads a Get
//     from S3 itself rather than through the plugin (and a server
//     redirects a blob GET to it).
//   - StartURLPut, PutURL, FinishURLPut (sdk.URLPutter, urlput.go):
//     presigned PutObject and UploadPart with a signed CRC-32, so the
//     host sends a sized Put's bytes to S3 itself; the plugin creates,
//     checks (ListParts) and completes or aborts the multipart upload.
//   - Checksums and payload signing are set once for every client
//     (integrity.go): CRC32 only where S3 requires it, the payload's
//     SHA-256 left out on loopback endpoints as on TLS.
//
// Limits: an S3-compatible service backed by a filesystem (versitygw's
// posix backend) cannot hold both "a" and "a/b", like the filesystem store;
// such a Put gives *store.InvalidKeyError. The largest value is 10000 parts
// (part size doubles every 1000 parts, up to S3's 5 TiB object limit).
package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/go-hclog"

	"github.com/swcli/swcli/core/plugin/base"
	"github.com/swcli/swcli/core/store"
)

// Name and capabilities of the plugin.
const (
	Name = "s3store"
	// CapConditionalPut: IfNoneMatch and IfMatch are atomic against other
	// writers (served by S3 conditional writes).
	CapConditionalPut = "conditional-put"
	// CapRangeGet: Get with an offset reads only the range asked for.
	CapRangeGet = "range-get"
)

// Options are what the plugin's main gives besides the S3 configuration.
type Options struct {
	Version string
	Logger  hclog.Logger
}

// Store is the S3 store. See the package documentation.
type Store struct {
	client *s3.Client
	cfg    Config
	opts   Options
}

var _ store.Store = (*Store)(nil)

// New makes a store from cfg. It does not contact S3: a wrong endpoint,
// bucket or credentials show up in the first call.
func New(ctx context.Context, cfg Config, opts Options) (*Store, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	var load []func(*config.LoadOptions) error
	if cfg.Region != "" {
		load = append(load, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" {
		load = append(load, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	if cfg.Endpoint != "" {
		// Instance roles are AWS's; never ask the metadata service for
		// credentials of another S3 service.
		load = append(load, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("s3 store: aws config: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = defaultRegion
	}
	cfg.Region = awsCfg.Region
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = *cfg.PathStyle
		// The SDK's standard retryer, configured: throttling (503
		// SlowDown), 500/502/503/504 and dropped or refused connections
		// are retried with exponential backoff and jitter. No retry
		// token bucket: a server under load should wait, not give up
		// after a burst of throttled requests.
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = cfg.MaxAttempts
			so.MaxBackoff = cfg.MaxBackoff
			so.RateLimiter = ratelimit.None
		})
		// Ranged and multipart GETs have no whole-object checksum to
		// check; do not log that on every Get.
		o.DisableLogOutputChecksumValidationSkipped = true
		integrity(cfg.Endpoint, o)
	})
	return &Store{client: client, cfg: cfg, opts: opts}, nil
}

// Config returns the configuration in use, defaults filled in.
func (s *Store) Config() Config { return s.cfg }

// Client returns the S3 client (for tests and tools).
func (s *Store) Client() *s3.Client { return s.client }

func (s *Store) String() string {
	return fmt.Sprintf("s3:%s/%s (%s)", s.cfg.Bucket, strings.TrimSuffix(s.cfg.Prefix, "/"), s.where())
}

// Info implements sdk.StoreInfo.
func (s *Store) Info(context.Context) (base.Info, error) { return PluginInfo(s.opts.Version), nil }

// PluginInfo is the Info the plugin serves.
func PluginInfo(version string) base.Info {
	return base.Info{
		Name:             Name,
		Kind:             "store",
		Version:          version,
		ProtocolVersions: []int{base.ProtocolVersion},
		Capabilities:     base.Capabilities{Other: []string{CapConditionalPut, CapRangeGet}},
		ConfigSchema:     ConfigSchema,
	}
}

// object is the S3 object name of key.
func (s *Store) object(key string) *string { return aws.String(s.cfg.Prefix + key) }

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	rc, _, err := s.get(ctx, key, offset, length, false)
	return rc, err
}

// GetWithInfo implements store.InfoGetter: the Info comes from the headers
// of the GetObject response (ETag, Last-Modified, and the size from
// Content-Range or Content-Length), so reading a record with its ETag is
// one request, not a HEAD then a GET.
func (s *Store) GetWithInfo(ctx context.Context, key string, offset, length int64) (io.ReadCloser, store.Info, error) {
	return s.get(ctx, key, offset, length, true)
}

func (s *Store) get(ctx context.Context, key string, offset, length int64, withInfo bool) (io.ReadCloser, store.Info, error) {
	empty := io.NopCloser(strings.NewReader(""))
	if err := store.ValidateKey(key); err != nil {
		return nil, store.Info{}, err
	}
	if offset < 0 {
		return nil, store.Info{}, fmt.Errorf("s3 store: get %s: negative offset %d", key, offset)
	}
	if err := ctx.Err(); err != nil {
		return nil, store.Info{}, err
	}
	if length == 0 {
		// No range means nothing to S3; only existence matters.
		info, err := s.Stat(ctx, key)
		if err != nil {
			return nil, store.Info{}, err
		}
		return empty, info, nil
	}
	in := s.getInput(key, offset, length)
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		if code, status := errorCode(err); code == codeInvalidRange || status == 416 {
			// offset at or past the end: no bytes, and no headers of the
			// object in the answer
			if !withInfo {
				return empty, store.Info{}, nil
			}
			info, err := s.Stat(ctx, key)
			if err != nil {
				return nil, store.Info{}, err
			}
			return empty, info, nil
		}
		return nil, store.Info{}, s.mapError("get", key, err)
	}
	info := store.Info{
		Key:     key,
		Size:    objectSize(out),
		ModTime: aws.ToTime(out.LastModified),
		ETag:    unquote(aws.ToString(out.ETag)),
	}
	if in.Range != nil && out.ContentRange == nil {
		// The service ignored the range and sent the whole object: cut it
		// here.
		rc, err := rangeReader(out.Body, offset, length)
		return rc, info, err
	}
	return out.Body, info, nil
}

// getInput is the GetObject of bytes offset..offset+length-1 of key
// (length < 0: to the end).
func (s *Store) getInput(key string, offset, length int64) *s3.GetObjectInput {
	in := &s3.GetObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: s.object(key)}
	switch {
	case length > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", offset, offset+length-1))
	case offset > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", offset))
	}
	return in
}

// urlExpiry is how long a URL from GetURL is valid: enough to start the
// GET it is made for, which follows at once.
const urlExpiry = time.Minute

// GetURL implements sdk.URLGetter: a presigned GetObject (with its Range),
// so the host fetches a Get's bytes from S3 itself instead of through the
// plugin. It does not contact S3; a missing key shows in the GET (404
// NoSuchKey), anything unusual makes the host call Get.
func (s *Store) GetURL(ctx context.Context, key string, offset, length int64) (string, http.Header, error) {
	if err := store.ValidateKey(key); err != nil {
		return "", nil, err
	}
	if offset < 0 {
		return "", nil, fmt.Errorf("s3 store: get %s: negative offset %d", key, offset)
	}
	req, err := s3.NewPresignClient(s.client).PresignGetObject(ctx, s.getInput(key, offset, length), s3.WithPresignExpires(urlExpiry))
	if err != nil {
		return "", nil, fmt.Errorf("s3 store: presign get %s: %w", key, err)
	}
	return req.URL, req.SignedHeader, nil
}

// objectSize is the whole object's size from a GetObject answer: the total
// of "Content-Range: bytes A-B/TOTAL" for a range, else Content-Length.
func objectSize(out *s3.GetObjectOutput) int64 {
	if cr := aws.ToString(out.ContentRange); cr != "" {
		if i := strings.LastIndexByte(cr, '/'); i >= 0 {
			if n, err := strconv.ParseInt(cr[i+1:], 10, 64); err == nil {
				return n
			}
		}
	}
	return aws.ToInt64(out.ContentLength)
}

// rangeReader skips offset bytes of rc and limits it to length (if >= 0).
func rangeReader(rc io.ReadCloser, offset, length int64) (io.ReadCloser, error) {
	if _, err := io.CopyN(io.Discard, rc, offset); err != nil && !errors.Is(err, io.EOF) {
		rc.Close()
		return nil, err
	}
	if length < 0 {
		return rc, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(rc, length), rc}, nil
}

// Stat implements store.Store.
func (s *Store) Stat(ctx context.Context, key string) (store.Info, error) {
	if err := store.ValidateKey(key); err != nil {
		return store.Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.Info{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: s.object(key)})
	if err != nil {
		return store.Info{}, s.mapError("stat", key, err)
	}
	return store.Info{
		Key:     key,
		Size:    aws.ToInt64(out.ContentLength),
		ModTime: aws.ToTime(out.LastModified),
		ETag:    unquote(aws.ToString(out.ETag)),
	}, nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, prefix string, fn func(store.Info) error) error {
	if err := store.ValidatePrefix(prefix); err != nil {
		return err
	}
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.cfg.Bucket),
		Prefix: aws.String(s.cfg.Prefix + prefix),
	})
	last := ""
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return s.mapError("list", prefix, err)
		}
		for _, o := range page.Contents {
			key, ok := strings.CutPrefix(aws.ToString(o.Key), s.cfg.Prefix)
			if !ok || store.ValidateKey(key) != nil {
				continue
			}
			if key <= last && last != "" {
				return fmt.Errorf("s3 store: list %q: the service returned %q after %q, out of lexical order", prefix, key, last)
			}
			last = key
			if err := fn(store.Info{
				Key:     key,
				Size:    aws.ToInt64(o.Size),
				ModTime: aws.ToTime(o.LastModified),
				ETag:    unquote(aws.ToString(o.ETag)),
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := store.ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: s.object(key)})
	var nf *store.NotFoundError
	if err = s.mapError("delete", key, err); errors.As(err, &nf) {
		return nil
	}
	return err
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, opts store.PutOptions) error {
	if err := store.ValidateKey(key); err != nil {
		return err
	}
	if opts.IfNoneMatch && opts.IfMatch != "" {
		return fmt.Errorf("s3 store: put %s: IfNoneMatch and IfMatch cannot be combined", key)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r = ctxReader{ctx, r}
	// Read up to SinglePutSize and one byte more: a value that fits is
	// sent in one PutObject.
	first, err := readChunks(r, s.cfg.SinglePutSize)
	if errors.Is(err, io.EOF) {
		return s.putObject(ctx, key, first, opts)
	}
	if err != nil {
		return fmt.Errorf("s3 store: put %s: %w", key, err)
	}
	var next [1]byte
	n, err := io.ReadFull(r, next[:])
	if n == 0 {
		if errors.Is(err, io.EOF) {
			return s.putObject(ctx, key, first, opts)
		}
		return fmt.Errorf("s3 store: put %s: %w", key, err)
	}
	return s.putMultipart(ctx, key, first, io.MultiReader(bytes.NewReader(next[:]), r), opts)
}

// putObject stores a value that fits in memory with one PutObject.
func (s *Store) putObject(ctx context.Context, key string, data *chunks, opts store.PutOptions) error {
	for attempt := 0; ; attempt++ {
		in := &s3.PutObjectInput{
			Bucket:        aws.String(s.cfg.Bucket),
			Key:           s.object(key),
			Body:          data.reader(),
			ContentLength: aws.Int64(data.size),
		}
		in.IfNoneMatch, in.IfMatch = conditions(opts)
		_, err := s.client.PutObject(ctx, in)
		if err == nil {
			return nil
		}
		if s.conflictRetry(ctx, attempt, err) {
			continue
		}
		return s.putError(key, opts, err)
	}
}

// conditions gives the S3 conditional-write headers for opts.
func conditions(opts store.PutOptions) (ifNoneMatch, ifMatch *string) {
	if opts.IfNoneMatch {
		ifNoneMatch = aws.String("*")
	}
	if opts.IfMatch != "" {
		ifMatch = aws.String(`"` + unquote(opts.IfMatch) + `"`)
	}
	return ifNoneMatch, ifMatch
}

// putError maps a failed Put: with IfMatch, a missing key is a lost
// precondition, not a missing key.
func (s *Store) putError(key string, opts store.PutOptions, err error) error {
	err = s.mapError("put", key, err)
	var nf *store.NotFoundError
	if opts.IfMatch != "" && errors.As(err, &nf) {
		return &store.PreconditionError{Key: key}
	}
	return err
}

// conflictRetry waits and says to try again when err is S3's 409
// ConditionalRequestConflict (another conditional write on the key was in
// flight; AWS asks to retry).
func (s *Store) conflictRetry(ctx context.Context, attempt int, err error) bool {
	if code, _ := errorCode(err); code != codeConditionalConflict || attempt >= 8 {
		return false
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Duration(10<<attempt) * time.Millisecond):
		return true
	}
}

func unquote(etag string) string { return strings.Trim(etag, `"`) }

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
