package server_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncLog is a log buffer several goroutines write.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// noFollow is a client that shows redirects instead of following them.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestS3BlobRedirect: a server on versitygw through the s3store plugin
// answers an authorized blob GET with 307 to a presigned GetObject URL
// (never cached), which any client GETs without credentials, whole or a
// range; everything it checked before still comes first (credentials,
// the blob's link in the repository); HEAD is served by the server; the
// URL appears in neither the server's log nor the plugin's, at trace
// level. With ProxyBlobs (--blob-redirect=false) the server sends the
// bytes itself.
func TestS3BlobRedirect(t *testing.T) {
	b := newBucket(t)
	log := &syncLog{}
	s := b.startWith(t, hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: log}), false)
	const repo = "self/runtime/app"
	content := bytes.Repeat([]byte("redirected layer "), 64<<10)
	desc := pushBlobAs(t, s.URL, repo, content)
	blobURL := s.URL + "/v2/" + repo + "/blobs/" + desc.Digest.String()

	get := func(c *http.Client, method, url, token string, hdr ...string) (*http.Response, []byte) {
		req, err := http.NewRequest(method, url, nil)
		require.NoError(t, err)
		if token != "" {
			req.SetBasicAuth("admin", token)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, body
	}

	resp, body := get(noFollow, "GET", blobURL, scaleToken)
	require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode, "%s", body)
	loc := resp.Header.Get("Location")
	assert.Contains(t, loc, b.srv.Endpoint+"/", "to the bucket's endpoint")
	assert.Contains(t, loc, "X-Amz-Signature=")
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	assert.Empty(t, body, "the URL is in Location only")
	resp, body = get(noFollow, "GET", loc, "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Equal(t, desc.Digest, digest.FromBytes(body), "the presigned URL needs no credentials")

	resp, body = get(http.DefaultClient, "GET", blobURL, scaleToken, "Range", "bytes=100-199")
	require.Equal(t, http.StatusPartialContent, resp.StatusCode, "%s", body)
	assert.Equal(t, content[100:200], body, "a Range goes on to S3")

	resp, _ = get(noFollow, "GET", blobURL, "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no credentials: no URL")
	assert.Empty(t, resp.Header.Get("Location"))
	resp, _ = get(noFollow, "GET", s.URL+"/v2/self/runtime/other/blobs/"+desc.Digest.String(), scaleToken)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "not linked in that repository: no URL")
	assert.Empty(t, resp.Header.Get("Location"))
	resp, _ = get(noFollow, "GET", s.URL+"/v2/self/runtime/app/blobs/sha256:"+strings.Repeat("0", 64), scaleToken)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = get(noFollow, "HEAD", blobURL, scaleToken)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "HEAD is the server's")
	assert.Equal(t, desc.Digest.String(), resp.Header.Get("Docker-Content-Digest"))

	logged := log.String()
	assert.Contains(t, logged, "status=307")
	for _, secret := range []string{"X-Amz-Signature", "X-Amz-Credential", loc} {
		assert.NotContains(t, logged, secret, "no presigned URL in the server's or the plugin's log")
	}

	p := b.startWith(t, hclog.NewNullLogger(), true)
	resp, body = get(noFollow, "GET", p.URL+"/v2/"+repo+"/blobs/"+desc.Digest.String(), scaleToken)
	require.Equal(t, http.StatusOK, resp.StatusCode, "ProxyBlobs: the server sends the bytes")
	assert.Equal(t, desc.Digest.String(), resp.Header.Get("Docker-Content-Digest"))
	assert.Equal(t, content, body)
}
