package s3store_test

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/s3test"
	"github.com/swcli/swcli/plugins/s3store/s3store"
	"github.com/swcli/swcli/sdk"
	"github.com/swcli/swcli/sdk/sdktest"
)

// putCounting is the s3 store with its own Puts counted: a Put the host
// sent to URLs never reaches them.
type putCounting struct {
	*s3store.Store
	puts atomic.Int64
}

func (p *putCounting) Put(ctx context.Context, key string, r io.Reader, o store.PutOptions) error {
	p.puts.Add(1)
	return p.Store.Put(ctx, key, r, o)
}

func (p *putCounting) PutSized(ctx context.Context, key string, r io.Reader, size int64, o store.PutOptions) error {
	p.puts.Add(1)
	return p.Store.PutSized(ctx, key, r, size, o)
}

func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	var key [32]byte
	key[0] = byte(seed)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

// TestURLPutSkipsThePlugin: through the plugin protocol, a sized Put of
// one PutObject and one of several parts go from the host to S3 (the
// plugin's own Put is not called), read back byte for byte, and leave no
// upload; conditional ones too, and their conditions hold.
func TestURLPutSkipsThePlugin(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	ctx := context.Background()
	p := &putCounting{Store: newStore(t, srv, bucket, "u", s3store.MinPartSize)}
	info := s3store.PluginInfo("test")
	s := sdktest.StoreOverGRPC(t, p, info)
	for i, n := range []int{1000, s3store.MinPartSize, 3*s3store.MinPartSize + 77} {
		v := randomBytes(uint64(i), n)
		key := fmt.Sprintf("v/%d", i)
		require.NoError(t, store.PutSized(ctx, s, key, bytes.NewReader(v), int64(n), store.PutOptions{}), "%d bytes", n)
		rc, err := s.Get(ctx, key, 0, -1)
		require.NoError(t, err)
		got, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		assert.True(t, bytes.Equal(v, got), "%d bytes read back", n)
	}
	assert.Zero(t, p.puts.Load(), "the bytes did not pass through the plugin")
	assert.Zero(t, uploads(t, srv, bucket))
	for i, n := range []int{1000, 2*s3store.MinPartSize + 3} {
		key := fmt.Sprintf("cond/%d", i)
		v := randomBytes(uint64(20+i), n)
		put := func(o store.PutOptions) error {
			return store.PutSized(ctx, s, key, bytes.NewReader(v), int64(n), o)
		}
		require.NoError(t, put(store.PutOptions{IfNoneMatch: true}), "%d bytes: create", n)
		var pe *store.PreconditionError
		assert.ErrorAs(t, put(store.PutOptions{IfNoneMatch: true}), &pe, "%d bytes: exists", n)
		info, err := s.Stat(ctx, key)
		require.NoError(t, err)
		assert.ErrorAs(t, put(store.PutOptions{IfMatch: "stale"}), &pe, "%d bytes: a stale ETag", n)
		require.NoError(t, put(store.PutOptions{IfMatch: info.ETag}), "%d bytes: the current ETag", n)
		assert.ErrorAs(t, store.PutSized(ctx, s, "cond/missing", bytes.NewReader(v), int64(n), store.PutOptions{IfMatch: info.ETag}), &pe, "%d bytes: If-Match on a missing key", n)
	}
	assert.Zero(t, p.puts.Load(), "conditional Puts did not pass through the plugin either")
	assert.Zero(t, uploads(t, srv, bucket))
}

// TestURLPutRefusesBadBodies: what makes url-put safe on a service that
// stores a PutObject cut short (versitygw 1.8): a presigned PutObject or
// UploadPart with its CRC-32 signed stores nothing when the body is cut
// short or is other bytes of the same length; and FinishURLPut refuses
// parts that are not the ones stored, aborting the upload.
func TestURLPutRefusesBadBodies(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	ctx := context.Background()
	s := newStore(t, srv, bucket, "u", s3store.MinPartSize)
	v := randomBytes(1, 1<<20)
	crc := crc32.ChecksumIEEE(v)

	cutShort := func(u string, h http.Header) {
		pu, err := url.Parse(u)
		require.NoError(t, err)
		conn, err := net.Dial("tcp", pu.Host)
		require.NoError(t, err)
		fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", pu.RequestURI(), pu.Host, len(v))
		for k, vs := range h {
			if k != "Host" && k != "Content-Length" {
				fmt.Fprintf(conn, "%s: %s\r\n", k, vs[0])
			}
		}
		fmt.Fprint(conn, "\r\n")
		_, _ = conn.Write(v[:len(v)/2])
		time.Sleep(100 * time.Millisecond)
		conn.Close()
		time.Sleep(300 * time.Millisecond) // the service has seen the end
	}
	// put sends body whole, with the signed headers; status and ETag
	put := func(u string, h http.Header, body []byte) (int, string) {
		req, err := http.NewRequest("PUT", u, bytes.NewReader(body))
		require.NoError(t, err)
		for k, vs := range h {
			if k != "Host" && k != "Content-Length" {
				req.Header.Set(k, vs[0])
			}
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("ETag")
	}
	other := append([]byte{}, v...)
	other[12345] ^= 1

	plan, err := s.StartURLPut(ctx, "one", int64(len(v)), store.PutOptions{})
	require.NoError(t, err)
	require.Empty(t, plan.UploadID, "1 MiB is one PutObject")
	u, h, err := s.PutURL(ctx, "one", "", 0, int64(len(v)), crc, store.PutOptions{})
	require.NoError(t, err)
	cutShort(u, h)
	code, _ := put(u, h, other)
	assert.NotEqual(t, http.StatusOK, code, "other bytes are refused")
	_, err = s.Stat(ctx, "one")
	var nf *store.NotFoundError
	require.ErrorAs(t, err, &nf, "neither a cut-short body nor other bytes were stored")
	code, _ = put(u, h, v)
	require.Equal(t, http.StatusOK, code)
	_, err = s.Stat(ctx, "one")
	require.NoError(t, err)

	big := int64(2*s3store.MinPartSize + 1)
	plan, err = s.StartURLPut(ctx, "parts", big, store.PutOptions{})
	require.NoError(t, err)
	id := plan.UploadID
	require.NotEmpty(t, id)
	assert.EqualValues(t, s3store.MinPartSize, plan.PartSize)
	u, h, err = s.PutURL(ctx, "parts", id, 1, int64(len(v)), crc, store.PutOptions{})
	require.NoError(t, err)
	cutShort(u, h)
	code, _ = put(u, h, other)
	assert.NotEqual(t, http.StatusOK, code)
	out, err := srv.Client.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String("u/parts"), UploadId: aws.String(id)})
	require.NoError(t, err)
	assert.Empty(t, out.Parts, "no part was stored")
	code, etag := put(u, h, v)
	require.Equal(t, http.StatusOK, code)
	err = s.FinishURLPut(ctx, "parts", id, []sdk.URLPart{{Number: 1, ETag: etag, Size: int64(len(v)) + 1, CRC32: crc}}, store.PutOptions{}, false)
	require.Error(t, err, "a part of another size than stored")
	assert.Zero(t, uploads(t, srv, bucket), "the upload is aborted")
	_, err = s.Stat(ctx, "parts")
	require.ErrorAs(t, err, &nf)
}

// TestURLPutRetries: the host's own requests to S3 are retried as the
// SDK's are: throttling (503 SlowDown) and dropped connections on the
// presigned PutObject and UploadParts cost nothing but time.
func TestURLPutRetries(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	p := s3test.NewProxy(t, srv)
	ctx := context.Background()
	st, err := s3store.New(ctx, s3store.Config{Endpoint: p.Endpoint, Bucket: bucket, Region: s3test.Region,
		AccessKeyID: s3test.AccessKey, SecretAccessKey: s3test.SecretKey,
		PartSize: s3store.MinPartSize, SinglePutSize: s3store.MinPartSize, MaxBackoff: 50 * time.Millisecond}, s3store.Options{Version: "test"})
	require.NoError(t, err)
	pc := &putCounting{Store: st}
	s := sdktest.StoreOverGRPC(t, pc, s3store.PluginInfo("test"))
	for i, n := range []int{1000, 2*s3store.MinPartSize + 5} {
		v := randomBytes(uint64(10+i), n)
		key := fmt.Sprintf("r/%d", i)
		before := p.Faults.Load()
		p.SlowDown(2)
		p.Drop(1)
		require.NoError(t, store.PutSized(ctx, s, key, bytes.NewReader(v), int64(n), store.PutOptions{}), "%d bytes", n)
		assert.EqualValues(t, 3, p.Faults.Load()-before, "%d bytes: the faults were met", n)
		rc, err := s.Get(ctx, key, 0, -1)
		require.NoError(t, err)
		got, _ := io.ReadAll(rc)
		rc.Close()
		assert.True(t, bytes.Equal(v, got), "%d bytes read back", n)
	}
	assert.Zero(t, pc.puts.Load(), "sent by the host, not the plugin")
	assert.Zero(t, uploads(t, srv, bucket))
}
