package remote_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/server"
	"github.com/swcli/swcli/core/server/auth"
	"github.com/swcli/swcli/core/store"
)

// bucket stands for the S3 endpoint a server redirects blob GETs to, on
// another port of 127.0.0.1, recording the headers it is sent (versitygw,
// which the server and cmd/swcli tests redirect to, keeps no such
// record). It serves the values of st by key, Range included; corrupt
// flips the bytes it sends.
type bucket struct {
	st      store.Store
	mu      sync.Mutex
	auth    []string // Authorization headers received
	ranges  []string // Range headers received
	corrupt bool
}

func (b *bucket) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.auth = append(b.auth, r.Header.Get("Authorization"))
	b.ranges = append(b.ranges, r.Header.Get("Range"))
	corrupt := b.corrupt
	b.mu.Unlock()
	if r.URL.Query().Get("sig") != "s3cr3t" {
		http.Error(w, "unsigned", http.StatusForbidden)
		return
	}
	rc, err := b.st.Get(r.Context(), strings.TrimPrefix(r.URL.Path, "/"), 0, -1)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	v, _ := io.ReadAll(rc)
	rc.Close()
	if corrupt {
		for i := range v {
			v[i] ^= 0xff
		}
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(v))
}

// urlStore is a store that gives URLs of its values on the bucket.
type urlStore struct {
	store.Store
	base string
}

func (u urlStore) GetURL(_ context.Context, key string, _, _ int64) (string, http.Header, error) {
	return u.base + "/" + key + "?sig=s3cr3t", nil, nil
}

// TestCloudPullFollowsBlobRedirect: a server whose store gives URLs
// redirects blob GETs; swcli follows them without sending its token to the
// other port, a resumed download sends its Range on, the URL never reaches
// the server's log, and bytes that do not match the digest leave no
// version.
func TestCloudPullFollowsBlobRedirect(t *testing.T) {
	dir := t.TempDir()
	fs, err := store.NewFS(filepath.Join(dir, "store"))
	require.NoError(t, err)
	b := &bucket{st: fs}
	bs := httptest.NewServer(b)
	t.Cleanup(bs.Close)
	st := urlStore{Store: fs, base: bs.URL}
	acc, err := auth.New(st, auth.WithBcryptCost(bcrypt.MinCost))
	require.NoError(t, err)
	var logBuf bytes.Buffer
	var logMu sync.Mutex
	log := hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: lockedWriter{&logMu, &logBuf}})
	srv, err := server.New(server.Config{Accounts: acc, Registry: registry.New(st), DataDir: dir, AdminToken: adminToken, Log: log})
	require.NoError(t, err)
	require.NoError(t, srv.Bootstrap(ctx))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)

	f := newFixture(t, 64<<10)
	dst := open(t, hs.URL, adminToken, f.root)
	_, err = instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, dst, instance.Ref{Project: "self"}, instance.CopyOptions{})
	require.NoError(t, err)

	back, err := instance.OpenLocal(t.TempDir())
	require.NoError(t, err)
	src := open(t, hs.URL, adminToken, back.Root())
	res, err := instance.Copy(ctx, src, instance.Ref{Project: "self", Name: "rt", Version: "prod"}, back, instance.Ref{}, instance.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Copied)
	assert.Equal(t, f.v.Digest, res.Version.Digest)

	// a resumed download: its Range goes on to the bucket
	rc, err := src.Get(ctx, f.layer.Digest, 100)
	require.NoError(t, err)
	tail, err := io.ReadAll(rc)
	rc.Close()
	require.NoError(t, err)
	whole, err := fs.Get(ctx, "blobs/sha256/"+f.layer.Digest.Encoded(), 0, -1)
	require.NoError(t, err)
	want, _ := io.ReadAll(whole)
	whole.Close()
	assert.Equal(t, want[100:], tail)

	b.mu.Lock()
	require.GreaterOrEqual(t, len(b.auth), 3, "the config, the layer and the range came from the bucket")
	for _, a := range b.auth {
		assert.Empty(t, a, "the token is not sent to the bucket")
	}
	assert.Equal(t, "bytes=100-", b.ranges[len(b.ranges)-1])
	b.corrupt = true
	b.mu.Unlock()

	// bytes that do not hash to the digest: no version in the pull's target
	other, err := instance.OpenLocal(t.TempDir())
	require.NoError(t, err)
	src2 := open(t, hs.URL, adminToken, other.Root())
	_, err = instance.Copy(ctx, src2, instance.Ref{Project: "self", Name: "rt", Version: "prod"}, other, instance.Ref{}, instance.CopyOptions{})
	var dm *registry.DigestMismatchError
	require.ErrorAs(t, err, &dm)
	_, err = other.Resolve(ctx, instance.Ref{Name: "rt", Version: "prod"}, false)
	var nf *registry.NotFoundError
	assert.ErrorAs(t, err, &nf)

	logMu.Lock()
	defer logMu.Unlock()
	assert.Contains(t, logBuf.String(), "status=307")
	assert.NotContains(t, logBuf.String(), "s3cr3t", "the server's log never has the URL")
	assert.NotContains(t, logBuf.String(), bs.URL[len("http://"):])
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
