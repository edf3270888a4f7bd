package remote_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/instance"
)

// cutter forwards to a server; the first GET of blob path is cut off after
// half of it (the connection dropped), and it notes the Range of every
// GET of that blob and how many bytes each one served.
type cutter struct {
	upstream, path string
	cut            atomic.Bool
	mu             sync.Mutex
	ranges         []string
	served         []int64
}

func (c *cutter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, c.upstream+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	req.ContentLength = r.ContentLength
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, c.path) {
		_, _ = io.Copy(w, resp.Body)
		return
	}
	limit := resp.ContentLength
	first := !c.cut.Swap(true)
	if first {
		limit /= 2
	}
	n, _ := io.CopyN(w, resp.Body, limit)
	c.mu.Lock()
	c.ranges = append(c.ranges, r.Header.Get("Range"))
	c.served = append(c.served, n)
	c.mu.Unlock()
	if first {
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-blob
	}
}

// A pull cut off in the middle of a blob resumes inside it: the next copy
// asks for the rest only (one ranged GET), and the version arrives whole.
func TestCloudPullResumesInsideTheBlob(t *testing.T) {
	c := startCloud(t)
	f := newFixture(t, 1<<20)
	dst := open(t, c.url, adminToken, f.root)
	_, err := instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, dst, instance.Ref{}, instance.CopyOptions{})
	require.NoError(t, err)

	cut := &cutter{upstream: c.url, path: "/blobs/" + f.layer.Digest.String()}
	hs := httptest.NewServer(cut)
	t.Cleanup(hs.Close)
	back, err := instance.OpenLocal(t.TempDir())
	require.NoError(t, err)

	src := open(t, hs.URL, adminToken, back.Root())
	_, err = instance.Copy(ctx, src, instance.Ref{Name: "rt"}, back, instance.Ref{}, instance.CopyOptions{})
	require.Error(t, err, "the first pull is cut off")
	_, err = back.Resolve(ctx, instance.Ref{Name: "rt"}, false)
	require.Error(t, err, "no version after a cut-off pull")

	src = open(t, hs.URL, adminToken, back.Root())
	res, err := instance.Copy(ctx, src, instance.Ref{Name: "rt"}, back, instance.Ref{}, instance.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, f.v.Digest, res.Version.Digest)
	require.Len(t, cut.ranges, 2, "one GET cut off, one ranged GET for the rest")
	assert.Empty(t, cut.ranges[0])
	kept := cut.served[0]
	assert.Positive(t, kept)
	// What the client kept of the first GET may be less than was sent
	// (in flight when the connection dropped); the second starts there.
	off, ok := strings.CutPrefix(cut.ranges[1], "bytes=")
	require.True(t, ok, cut.ranges[1])
	from, err := strconv.ParseInt(strings.TrimSuffix(off, "-"), 10, 64)
	require.NoError(t, err)
	assert.Positive(t, from, "the second GET resumes inside the blob")
	assert.LessOrEqual(t, from, kept)
	assert.Equal(t, f.layer.Size-from, cut.served[1], "only the rest is sent again")

	rc, err := back.Get(ctx, f.layer.Digest, 0)
	require.NoError(t, err)
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	require.NoError(t, err)
	assert.Equal(t, f.layer.Size, n)
}
