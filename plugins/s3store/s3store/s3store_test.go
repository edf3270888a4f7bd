package s3store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/s3test"
	"github.com/swcli/swcli/plugins/s3store/s3store"
	"github.com/swcli/swcli/sdk"
	"github.com/swcli/swcli/sdk/sdktest"
	"github.com/swcli/swcli/sdk/storetest"
)

func newStore(t *testing.T, srv *s3test.Server, bucket, prefix string, partSize int64) *s3store.Store {
	t.Helper()
	s, err := s3store.New(context.Background(), s3store.Config{
		Endpoint:        srv.Endpoint,
		Bucket:          bucket,
		Prefix:          prefix,
		Region:          s3test.Region,
		AccessKeyID:     s3test.AccessKey,
		SecretAccessKey: s3test.SecretKey,
		PartSize:        partSize,
		SinglePutSize:   partSize,
	}, s3store.Options{Version: "test"})
	require.NoError(t, err)
	return s
}

// TestConformance runs the store conformance suite in-process, a fresh bucket
// per subtest, with the smallest part size so that large values go through
// multipart uploads of several parts.
func TestConformance(t *testing.T) {
	srv := s3test.Start(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return newStore(t, srv, srv.Bucket(t), "", s3store.MinPartSize)
	})
}

// TestConformanceOverGRPC runs the suite through the real plugin protocol,
// the stores sharing one bucket under different prefixes.
func TestConformanceOverGRPC(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) store.Store {
		s := newStore(t, srv, bucket, fmt.Sprintf("runs/%d", n.Add(1)), 0)
		return sdktest.StoreOverGRPC(t, s, s3store.PluginInfo("test"))
	})
}

func uploads(t *testing.T, srv *s3test.Server, bucket string) int {
	t.Helper()
	out, err := srv.Client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)
	return len(out.Uploads)
}

// brokenReader gives n bytes, then fails.
type brokenReader struct{ n int }

var errBroken = errors.New("reader broke")

func (r *brokenReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errBroken
	}
	p = p[:min(len(p), r.n)]
	for i := range p {
		p[i] = 'x'
	}
	r.n -= len(p)
	return len(p), nil
}

// TestMultipartAbort: a Put whose reader fails after several parts, or
// whose context is canceled, leaves the old value and no upload behind.
func TestMultipartAbort(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	s := newStore(t, srv, bucket, "p", s3store.MinPartSize)
	ctx := context.Background()
	require.NoError(t, s.Put(ctx, "k", bytes.NewReader([]byte("old")), store.PutOptions{}))

	err := s.Put(ctx, "k", &brokenReader{n: 3*s3store.MinPartSize + 100}, store.PutOptions{})
	require.ErrorIs(t, err, errBroken)

	cctx, cancel := context.WithCancel(ctx)
	r := io.MultiReader(bytes.NewReader(make([]byte, 2*s3store.MinPartSize)), readerFunc(func(p []byte) (int, error) {
		cancel()
		return len(p), nil
	}), bytes.NewReader(make([]byte, s3store.MinPartSize)))
	err = s.Put(cctx, "k", r, store.PutOptions{})
	require.ErrorIs(t, err, context.Canceled)

	assert.Equal(t, 0, uploads(t, srv, bucket), "aborted uploads are gone")
	rc, err := s.Get(ctx, "k", 0, -1)
	require.NoError(t, err)
	b, _ := io.ReadAll(rc)
	rc.Close()
	assert.Equal(t, "old", string(b))
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestMultipartConditional: conditional puts of values larger than a part
// are conditional too (on CompleteMultipartUpload), and atomic.
func TestMultipartConditional(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	s := newStore(t, srv, bucket, "", s3store.MinPartSize)
	ctx := context.Background()
	big := func(b byte) io.Reader { return bytes.NewReader(bytes.Repeat([]byte{b}, 2*s3store.MinPartSize+1)) }
	var pe *store.PreconditionError

	require.NoError(t, s.Put(ctx, "m", big('a'), store.PutOptions{IfNoneMatch: true}))
	require.ErrorAs(t, s.Put(ctx, "m", big('b'), store.PutOptions{IfNoneMatch: true}), &pe)
	a, err := s.Stat(ctx, "m")
	require.NoError(t, err)
	assert.Contains(t, a.ETag, "-", "a multipart ETag")

	require.ErrorAs(t, s.Put(ctx, "m", big('c'), store.PutOptions{IfMatch: "stale"}), &pe)
	require.NoError(t, s.Put(ctx, "m", big('d'), store.PutOptions{IfMatch: a.ETag}))
	d, err := s.Stat(ctx, "m")
	require.NoError(t, err)
	assert.NotEqual(t, a.ETag, d.ETag)
	require.ErrorAs(t, s.Put(ctx, "m", big('e'), store.PutOptions{IfMatch: a.ETag}), &pe)
	require.ErrorAs(t, s.Put(ctx, "missing", big('e'), store.PutOptions{IfMatch: a.ETag}), &pe)

	// Racing large creators: exactly one wins.
	const racers = 4
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Put(ctx, "race", big(byte('0'+i)), store.PutOptions{IfNoneMatch: true})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			require.ErrorAs(t, err, &pe)
		}
	}
	assert.Equal(t, 1, won, "exactly one creator wins: %v", errs)
	assert.Equal(t, 0, uploads(t, srv, bucket), "losing uploads are aborted")
}

// TestForeignObjects: objects under the prefix whose names are not valid
// keys (written by other tools) are skipped by List; objects outside the
// prefix are not seen.
func TestForeignObjects(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	s := newStore(t, srv, bucket, "mine", 0)
	ctx := context.Background()
	for _, name := range []string{"mine/good", "mine/bad name", "mine/sp@ce", "other/x", "minex"} {
		_, err := srv.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(name), Body: bytes.NewReader([]byte("v"))})
		require.NoError(t, err, name)
	}
	var keys []string
	require.NoError(t, s.List(ctx, "", func(i store.Info) error { keys = append(keys, i.Key); return nil }))
	assert.Equal(t, []string{"good"}, keys)
}

// TestErrors: a missing bucket and bad credentials give errors that say so;
// they are not mistaken for a missing key.
func TestErrors(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	s := newStore(t, srv, "no-such-bucket", "", 0)
	_, err := s.Get(ctx, "k", 0, -1)
	require.Error(t, err)
	var nf *store.NotFoundError
	assert.False(t, errors.As(err, &nf), "a missing bucket is not a missing key: %v", err)
	assert.Contains(t, err.Error(), `bucket "no-such-bucket" does not exist`)
	err = s.Put(ctx, "k", bytes.NewReader(nil), store.PutOptions{})
	assert.Contains(t, err.Error(), `bucket "no-such-bucket" does not exist`)

	bad, err := s3store.New(ctx, s3store.Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket(t), AccessKeyID: "nobody", SecretAccessKey: "wrong"}, s3store.Options{})
	require.NoError(t, err)
	err = bad.Put(ctx, "k", bytes.NewReader(nil), store.PutOptions{})
	require.Error(t, err)
	// AWS says 403 InvalidAccessKeyId; versitygw v1.8.0 says 404
	// XAdminUserNotFound (so a HEAD, which has no body, cannot tell it from a
	// missing key there).
	assert.Regexp(t, `InvalidAccessKeyId|XAdminUserNotFound`, err.Error())
}

func TestConfigFromEnv(t *testing.T) {
	for k, v := range map[string]string{
		"SW_S3_ENDPOINT": "http://127.0.0.1:1", "SW_S3_BUCKET": "b", "SW_S3_PREFIX": "/a/b/",
		"SW_S3_REGION": "eu-west-1", "SW_S3_PART_SIZE": "8MiB", "SW_S3_CONCURRENCY": "2",
		"SW_S3_PATH_STYLE": "", "AWS_ACCESS_KEY_ID": "ak", "AWS_SECRET_ACCESS_KEY": "sk",
	} {
		t.Setenv(k, v)
	}
	cfg, err := s3store.ConfigFromEnv()
	require.NoError(t, err)
	s, err := s3store.New(context.Background(), cfg, s3store.Options{})
	require.NoError(t, err)
	got := s.Config()
	assert.Equal(t, "a/b/", got.Prefix)
	assert.Equal(t, "eu-west-1", got.Region)
	assert.Equal(t, int64(8<<20), got.PartSize)
	assert.Equal(t, 2, got.Concurrency)
	assert.True(t, *got.PathStyle, "path style for a custom endpoint")

	for env, val := range map[string]string{
		"SW_S3_BUCKET":      "",
		"SW_S3_ENDPOINT":    "127.0.0.1:9000",
		"SW_S3_PREFIX":      "a//b",
		"SW_S3_PART_SIZE":   "1MiB",
		"SW_S3_CONCURRENCY": "0",
		"SW_S3_PATH_STYLE":  "maybe",
	} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, val)
			st := s3store.FromEnv(context.Background(), s3store.Options{Version: "v"})
			err := st.Delete(context.Background(), "k")
			require.Error(t, err)
			assert.Contains(t, err.Error(), env, "the error names the variable")
			info, err := st.(sdk.StoreInfo).Info(context.Background())
			require.NoError(t, err, "an unconfigured store still answers Info")
			assert.Equal(t, "s3store", info.Name)
			assert.Contains(t, info.ConfigSchema, "SW_S3_BUCKET")
		})
	}
}

func TestPartSizes(t *testing.T) {
	// Values around SinglePutSize: up to it one PutObject (an ETag without
	// a part count), above it a multipart upload whose first part is
	// SinglePutSize and the rest PartSize parts.
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	s, err := s3store.New(context.Background(), s3store.Config{Endpoint: srv.Endpoint, Bucket: bucket, Region: s3test.Region,
		AccessKeyID: s3test.AccessKey, SecretAccessKey: s3test.SecretKey,
		PartSize: s3store.MinPartSize, SinglePutSize: 2 * s3store.MinPartSize}, s3store.Options{})
	require.NoError(t, err)
	ctx := context.Background()
	const single = 2 * s3store.MinPartSize
	for n, parts := range map[int]string{
		s3store.MinPartSize - 1: "", s3store.MinPartSize: "", single: "",
		single + 1: "-2", single + s3store.MinPartSize: "-2", single + s3store.MinPartSize + 1: "-3",
	} {
		key := "v" + strconv.Itoa(n)
		val := bytes.Repeat([]byte{byte(n)}, n)
		require.NoError(t, s.Put(ctx, key, bytes.NewReader(val), store.PutOptions{}))
		rc, err := s.Get(ctx, key, 0, -1)
		require.NoError(t, err)
		got, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		assert.True(t, bytes.Equal(val, got), "size %d", n)
		info, err := s.Stat(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, int64(n), info.Size)
		if parts == "" {
			assert.NotContains(t, info.ETag, "-", "size %d: one PutObject", n)
		} else {
			assert.True(t, strings.HasSuffix(info.ETag, parts), "size %d: ETag %s, want a %s-part upload", n, info.ETag, parts)
		}
	}
	assert.Zero(t, uploads(t, srv, bucket), "no upload left behind")
}

// TestServerConditionalWrites checks, with a raw S3 client, that the service
// the tests use evaluates conditional writes itself when it publishes an
// object, on PutObject and on CompleteMultipartUpload: the store's atomic
// conditional puts rest on that.
func TestServerConditionalWrites(t *testing.T) {
	srv := s3test.Start(t)
	bucket := aws.String(srv.Bucket(t))
	c := srv.Client
	ctx := context.Background()
	code := func(err error) string {
		var ae interface{ ErrorCode() string }
		if errors.As(err, &ae) {
			return ae.ErrorCode()
		}
		return fmt.Sprint(err)
	}
	n := 0
	put := func(key, ifNoneMatch, ifMatch string) (string, error) {
		n++ // new content every time, so a new ETag
		in := &s3.PutObjectInput{Bucket: bucket, Key: aws.String(key), Body: bytes.NewReader([]byte(strconv.Itoa(n)))}
		if ifNoneMatch != "" {
			in.IfNoneMatch = aws.String(ifNoneMatch)
		}
		if ifMatch != "" {
			in.IfMatch = aws.String(ifMatch)
		}
		out, err := c.PutObject(ctx, in)
		if err != nil {
			return "", err
		}
		return aws.ToString(out.ETag), nil
	}
	etag, err := put("k", "*", "")
	require.NoError(t, err)
	_, err = put("k", "*", "")
	assert.Equal(t, "PreconditionFailed", code(err), "If-None-Match: * on an existing key")
	_, err = put("k", "", `"0123"`)
	assert.Equal(t, "PreconditionFailed", code(err), "If-Match with another ETag")
	_, err = put("k", "", etag)
	assert.NoError(t, err, "If-Match with the current (quoted) ETag")
	_, err = put("none", "", etag)
	assert.Equal(t, "NoSuchKey", code(err), "If-Match on a missing key")

	// The condition of a multipart upload is checked at completion, against
	// what was published while the parts were being uploaded.
	for _, cond := range []string{"If-None-Match", "If-Match"} {
		key := aws.String("mp-" + cond)
		first, err := put(*key, "", "")
		require.NoError(t, err)
		mp, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bucket, Key: key})
		require.NoError(t, err)
		part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: bucket, Key: key, UploadId: mp.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("part"))})
		require.NoError(t, err)
		_, err = put(*key, "", "") // another writer publishes meanwhile
		require.NoError(t, err)
		in := &s3.CompleteMultipartUploadInput{Bucket: bucket, Key: key, UploadId: mp.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}}
		if cond == "If-None-Match" {
			in.IfNoneMatch = aws.String("*")
		} else {
			in.IfMatch = aws.String(first)
		}
		_, err = c.CompleteMultipartUpload(ctx, in)
		assert.Equal(t, "PreconditionFailed", code(err), cond)
		_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: bucket, Key: key, UploadId: mp.UploadId})
		assert.NoError(t, err)
	}
}

// TestKeyAndFolder: versitygw's posix backend, like the filesystem store,
// cannot hold both "a" and "a/b"; the store says so with *InvalidKeyError.
func TestKeyAndFolder(t *testing.T) {
	srv := s3test.Start(t)
	s := newStore(t, srv, srv.Bucket(t), "", 0)
	ctx := context.Background()
	var ik *store.InvalidKeyError
	require.NoError(t, s.Put(ctx, "a", bytes.NewReader([]byte("x")), store.PutOptions{}))
	require.ErrorAs(t, s.Put(ctx, "a/b", bytes.NewReader([]byte("x")), store.PutOptions{}), &ik)
	require.NoError(t, s.Put(ctx, "x/y", bytes.NewReader([]byte("x")), store.PutOptions{}))
	require.ErrorAs(t, s.Put(ctx, "x", bytes.NewReader([]byte("x")), store.PutOptions{}), &ik)
	assert.Contains(t, ik.Reason, "conflicts with another key")
}

// TestListPages: more keys than one ListObjectsV2 page (1000) come in
// lexical order, each once.
func TestListPages(t *testing.T) {
	if testing.Short() {
		t.Skip("stores 1100 objects")
	}
	srv := s3test.Start(t)
	s := newStore(t, srv, srv.Bucket(t), "pages", 0)
	ctx := context.Background()
	const n = 1100
	keys := make(chan string, n)
	for i := range n {
		keys <- fmt.Sprintf("k/%d", i) // "k/10" sorts before "k/2"
	}
	close(keys)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				assert.NoError(t, s.Put(ctx, k, bytes.NewReader(nil), store.PutOptions{}))
			}
		}()
	}
	wg.Wait()
	var got []string
	require.NoError(t, s.List(ctx, "k/", func(i store.Info) error { got = append(got, i.Key); return nil }))
	require.Len(t, got, n)
	assert.True(t, sort.StringsAreSorted(got), "lexical order across pages")
	var stopped int
	stop := errors.New("stop")
	require.ErrorIs(t, s.List(ctx, "", func(store.Info) error {
		if stopped++; stopped == 1050 {
			return stop
		}
		return nil
	}), stop, "fn's error stops the listing on the second page")
	assert.Equal(t, 1050, stopped)
}

func TestConfigFromURL(t *testing.T) {
	cfg, err := s3store.ConfigFromURL("s3://runtimes/team/a/?endpoint=http://127.0.0.1:7070&region=eu-west-1&path_style=false&part_size=8MiB&single_put_size=32MiB&concurrency=2&max_attempts=3&max_backoff=200ms")
	require.NoError(t, err)
	s, err := s3store.New(context.Background(), cfg, s3store.Options{})
	require.NoError(t, err)
	got := s.Config()
	assert.Equal(t, "runtimes", got.Bucket)
	assert.Equal(t, "team/a/", got.Prefix)
	assert.Equal(t, "http://127.0.0.1:7070", got.Endpoint)
	assert.Equal(t, "eu-west-1", got.Region)
	assert.False(t, *got.PathStyle)
	assert.Equal(t, int64(8<<20), got.PartSize)
	assert.Equal(t, int64(32<<20), got.SinglePutSize)
	assert.Equal(t, 2, got.Concurrency)
	assert.Equal(t, 3, got.MaxAttempts)
	assert.Equal(t, "200ms", got.MaxBackoff.String())

	for raw, want := range map[string]string{
		"s3://b/p?colour=red":           `unknown query key "colour"; allowed: endpoint, region, path_style, part_size, single_put_size, concurrency, max_attempts, max_backoff`,
		"s3://ak:sk@b/p":                "credentials do not belong in the URL",
		"s3://b/p?part_size=1MiB":       "store URL ?part_size",
		"s3://b/p?single_put_size=1MiB": "store URL ?single_put_size",
		"s3://b/p?path_style=maybe":     `path_style="maybe": want true or false`,
		"s3://b/p?endpoint=127.0.0.1:1": "store URL ?endpoint",
		"s3:///p":                       "no bucket: set store URL bucket",
		"gs://b/p":                      "want s3://BUCKET",
	} {
		t.Run(raw, func(t *testing.T) {
			cfg, err := s3store.ConfigFromURL(raw)
			if err == nil {
				_, err = s3store.New(context.Background(), cfg, s3store.Options{})
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
			assert.NotContains(t, err.Error(), "sk@")
		})
	}

	// The plugin reads the URL the host gives it.
	t.Setenv(s3store.EnvStoreURL, "s3://b/p?colour=red")
	err = s3store.FromEnv(context.Background(), s3store.Options{}).Delete(context.Background(), "k")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown query key "colour"`)
}

// TestGetWithInfo: the Info comes with GetObject's answer, in-process and
// through the plugin protocol (Chunk.info), and it agrees with HeadObject.
func TestGetWithInfo(t *testing.T) {
	srv := s3test.Start(t)
	t.Run("in-process", func(t *testing.T) {
		s := newStore(t, srv, srv.Bucket(t), "", 0)
		var _ store.InfoGetter = s
		storetest.GetWithInfo(t, s)
	})
	t.Run("grpc", func(t *testing.T) {
		s := sdktest.StoreOverGRPC(t, newStore(t, srv, srv.Bucket(t), "", 0), s3store.PluginInfo("test"))
		_, ok := s.(store.InfoGetter)
		require.True(t, ok, "the plugin client has the capability")
		storetest.GetWithInfo(t, s)
	})
}

// TestComposeCopiesInService: composing through the plugin protocol sends
// no byte of the value: one src is one CopyObject, several large ones are
// UploadPartCopy parts, and only a small src in the middle makes the
// plugin stream (GETs of the srcs and a PUT).
func TestComposeCopiesInService(t *testing.T) {
	srv := s3test.Start(t)
	p := s3test.NewProxy(t, srv)
	bucket := srv.Bucket(t)
	s3s, err := s3store.New(context.Background(), s3store.Config{Endpoint: p.Endpoint, Bucket: bucket, Region: s3test.Region,
		AccessKeyID: s3test.AccessKey, SecretAccessKey: s3test.SecretKey}, s3store.Options{})
	require.NoError(t, err)
	s := sdktest.StoreOverGRPC(t, s3s, s3store.PluginInfo("test"))
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), s3store.MinPartSize/16+1)
	for _, k := range []string{"a", "b"} {
		require.NoError(t, s.Put(ctx, k, bytes.NewReader(big), store.PutOptions{}))
	}
	require.NoError(t, s.Put(ctx, "small", strings.NewReader("x"), store.PutOptions{}))
	kinds := func() (copies, gets, puts int) {
		for _, c := range p.Calls() {
			switch {
			case strings.HasSuffix(c, " (copy)"):
				copies++
			case strings.HasPrefix(c, "GET "):
				gets++
			case strings.HasPrefix(c, "PUT "):
				puts++
			}
		}
		return
	}
	p.Calls()
	require.NoError(t, store.ComposeOf(ctx, s, "one", []string{"a"}))
	copies, gets, puts := kinds()
	assert.Equal(t, [3]int{1, 0, 0}, [3]int{copies, gets, puts}, "one CopyObject")

	require.NoError(t, store.ComposeOf(ctx, s, "two", []string{"a", "b", "small"}))
	copies, gets, puts = kinds()
	assert.Equal(t, [3]int{3, 0, 0}, [3]int{copies, gets, puts}, "three UploadPartCopy")

	require.NoError(t, store.ComposeOf(ctx, s, "three", []string{"small", "a"}))
	copies, gets, puts = kinds()
	assert.Equal(t, 0, copies, "a small src first: streamed")
	assert.Equal(t, 2, gets)
	for k, want := range map[string][]byte{"one": big, "two": append(append(append([]byte{}, big...), big...), 'x'), "three": append([]byte("x"), big...)} {
		rc, err := s.Get(ctx, k, 0, -1)
		require.NoError(t, err)
		got, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, got), "%s: %d bytes, want %d", k, len(got), len(want))
	}
}

// countingGets counts the Gets the plugin itself serves.
type countingGets struct {
	*s3store.Store
	gets atomic.Int64
}

func (c *countingGets) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key, offset, length)
}

func (c *countingGets) GetWithInfo(ctx context.Context, key string, offset, length int64) (io.ReadCloser, store.Info, error) {
	c.gets.Add(1)
	return c.Store.GetWithInfo(ctx, key, offset, length)
}

// TestGetFromURL: through the plugin protocol the host fetches a Get's
// bytes from a presigned URL itself (the plugin serves no Get): whole
// values, ranges, the Info with them, and a missing key; an offset past
// the end (S3's 416) falls back to the plugin's Get.
func TestGetFromURL(t *testing.T) {
	srv := s3test.Start(t)
	p := s3test.NewProxy(t, srv)
	s3s, err := s3store.New(context.Background(), s3store.Config{Endpoint: p.Endpoint, Bucket: srv.Bucket(t), Region: s3test.Region,
		AccessKeyID: s3test.AccessKey, SecretAccessKey: s3test.SecretKey}, s3store.Options{})
	require.NoError(t, err)
	cg := &countingGets{Store: s3s}
	s := sdktest.StoreOverGRPC(t, cg, s3store.PluginInfo("test"))
	ctx := context.Background()
	val := bytes.Repeat([]byte("0123456789"), 300_000)
	require.NoError(t, s.Put(ctx, "v", bytes.NewReader(val), store.PutOptions{}))
	st, err := s.Stat(ctx, "v")
	require.NoError(t, err)
	p.Calls()

	for _, rg := range [][2]int64{{0, -1}, {5, 10}, {2_999_990, -1}} {
		rc, err := s.Get(ctx, "v", rg[0], rg[1])
		require.NoError(t, err)
		got, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		want := val[rg[0]:]
		if rg[1] >= 0 {
			want = want[:rg[1]]
		}
		assert.True(t, bytes.Equal(want, got), "range %v", rg)
	}
	rc, info, err := store.GetWithInfo(ctx, s, "v", 10, 5)
	require.NoError(t, err)
	rc.Close()
	assert.Equal(t, st.ETag, info.ETag)
	assert.Equal(t, int64(len(val)), info.Size, "the whole value's size")
	assert.WithinDuration(t, st.ModTime, info.ModTime, time.Second)
	_, err = s.Get(ctx, "missing", 0, -1)
	var nf *store.NotFoundError
	require.ErrorAs(t, err, &nf)
	assert.Zero(t, cg.gets.Load(), "the plugin served no Get")
	assert.Len(t, p.Calls(), 5, "one S3 request each")

	rc, err = s.Get(ctx, "v", int64(len(val))+5, -1)
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	rc.Close()
	require.NoError(t, err)
	assert.Empty(t, got)
	assert.Equal(t, int64(1), cg.gets.Load(), "past the end: the plugin's Get")
}
