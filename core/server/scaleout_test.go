package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/go-hclog"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/swcli/swcli/core/plugin"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/server"
	"github.com/swcli/swcli/core/server/auth"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/core/storeurl"
	"github.com/swcli/swcli/internal/s3test"
	"github.com/swcli/swcli/internal/testbin"
)

// The scale-out tests run servers as one organisation would: each over its
// own s3store plugin process (launched through plugins.yaml with the store
// URL, as `swcli server start --store` does), all on one versitygw bucket.

const scaleToken = "swt_scale-out-admin-0123456789abcdef"

type bucketServer struct {
	URL string
	acc *auth.Auth
	reg *registry.Registry
	st  store.Store
}

// bucket is one versitygw bucket and the store URL servers open it with.
type bucket struct {
	srv  *s3test.Server
	name string
	url  string
}

func newBucket(t *testing.T) *bucket {
	t.Helper()
	if testing.Short() || onS3() {
		t.Skip("runs in the full run over the filesystem only (it is always on S3)")
	}
	srv := s3test.Start(t)
	s3test.CredentialsEnv(t)
	name := srv.Bucket(t)
	return &bucket{srv: srv, name: name, url: srv.URL(name, "org") + "&part_size=5MiB&single_put_size=5MiB"}
}

// openURL opens a store URL through a new plugin host (a new plugin
// process), stopped when the test ends.
func openURL(t *testing.T, rawURL string) (store.Store, error) {
	t.Helper()
	return openURLLogged(t, rawURL, hclog.NewNullLogger())
}

// openURLLogged is openURL with the plugin host logging to log.
func openURLLogged(t *testing.T, rawURL string, log hclog.Logger) (store.Store, error) {
	t.Helper()
	cat, err := plugin.Load([]string{filepath.Join(testbin.Dir(t), plugin.FileName)})
	require.NoError(t, err)
	h := plugin.NewHost(cat, log)
	t.Cleanup(h.Close)
	return (&storeurl.Opener{Host: h}).Open(t.Context(), rawURL)
}

// start runs a whole server (auth, registry, OCI and JSON APIs) on the
// bucket.
func (b *bucket) start(t *testing.T) *bucketServer {
	t.Helper()
	return b.startWith(t, hclog.NewNullLogger(), false)
}

// startWith is start with the server and its plugin host logging to log,
// and blobs proxied (no redirect) when proxy is set.
func (b *bucket) startWith(t *testing.T, log hclog.Logger, proxy bool) *bucketServer {
	t.Helper()
	st, err := openURLLogged(t, b.url, log)
	require.NoError(t, err)
	acc, err := auth.New(st, auth.WithBcryptCost(bcrypt.MinCost))
	require.NoError(t, err)
	reg := registry.New(st)
	srv, err := server.New(server.Config{Accounts: acc, Registry: reg, DataDir: t.TempDir(), AdminToken: scaleToken,
		Log: log, ProxyBlobs: proxy})
	require.NoError(t, err)
	require.NoError(t, srv.Bootstrap(t.Context()))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &bucketServer{URL: hs.URL, acc: acc, reg: reg, st: st}
}

// pushImage pushes a small runtime-like image (config and one layer) to
// repo through base and tags it ref; it returns the manifest.
func pushImage(t *testing.T, base, repo, ref, seed string) []byte {
	t.Helper()
	cfg := pushBlobAs(t, base, repo, []byte(`{"name":"`+seed+`"}`))
	layer := pushBlobAs(t, base, repo, []byte("layer of "+seed))
	m := imageManifest(t, cfg, layer)
	resp, body := do(t, "PUT", base+"/v2/"+repo+"/manifests/"+ref, scaleToken, bytes.NewReader(m), "Content-Type", ocispec.MediaTypeImageManifest)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	return m
}

func pushBlobAs(t *testing.T, base, repo string, content []byte) ocispec.Descriptor {
	t.Helper()
	d := digest.FromBytes(content)
	resp, b := do(t, "POST", base+"/v2/"+repo+"/blobs/uploads/?digest="+d.String(), scaleToken, bytes.NewReader(content))
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", b)
	return ocispec.Descriptor{Digest: d, Size: int64(len(content))}
}

// TestScaleOutPushPull: a runtime pushed through one server pulls through
// the other, manifest and blobs byte for byte.
func TestScaleOutPushPull(t *testing.T) {
	b := newBucket(t)
	a, c := b.start(t), b.start(t)
	const repo = "self/runtime/mnist"
	m := pushImage(t, a.URL, repo, "v1.0", "one")
	resp, got := do(t, "GET", c.URL+"/v2/"+repo+"/manifests/v1.0", scaleToken, nil, "Accept", ocispec.MediaTypeImageManifest)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", got)
	assert.Equal(t, m, got)
	var man ocispec.Manifest
	require.NoError(t, json.Unmarshal(got, &man))
	for _, d := range append(man.Layers, man.Config) {
		resp, blob := do(t, "GET", c.URL+"/v2/"+repo+"/blobs/"+d.Digest.String(), scaleToken, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, d.Digest, digest.FromBytes(blob))
	}
}

// TestScaleOutChunkedUpload: a chunked upload started on one server gets
// its next chunk on the other and is finished on the first.
func TestScaleOutChunkedUpload(t *testing.T) {
	b := newBucket(t)
	a, c := b.start(t), b.start(t)
	const repo = "self/runtime/big"
	content := bytes.Repeat([]byte("0123456789abcdef"), 7<<20/16) // 7 MiB: multipart chunks
	d := digest.FromBytes(content)
	resp, _ := do(t, "POST", a.URL+"/v2/"+repo+"/blobs/uploads/", scaleToken, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	loc := resp.Header.Get("Location")
	half := len(content) / 2
	resp, body := do(t, "PATCH", a.URL+loc, scaleToken, bytes.NewReader(content[:half]),
		"Content-Range", fmt.Sprintf("0-%d", half-1), "Content-Type", "application/octet-stream")
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", body)
	resp, body = do(t, "PATCH", c.URL+loc, scaleToken, bytes.NewReader(content[half:]),
		"Content-Range", fmt.Sprintf("%d-%d", half, len(content)-1), "Content-Type", "application/octet-stream")
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", body)
	resp, body = do(t, "PUT", a.URL+loc+"?digest="+d.String(), scaleToken, nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	resp, got := do(t, "GET", c.URL+"/v2/"+repo+"/blobs/"+d.String(), scaleToken, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, d, digest.FromBytes(got))
}

// TestScaleOutSameTag: clients on both servers move the same tag at once.
// No update is lost (every pushed version is there, with its own vN) and
// the tag has one winner, the same on both servers.
func TestScaleOutSameTag(t *testing.T) {
	b := newBucket(t)
	srvs := []*bucketServer{b.start(t), b.start(t)}
	const repo = "self/runtime/race"
	const n = 8
	// The blobs first, so that the race is on the tag.
	manifests := make([][]byte, n)
	for i := range manifests {
		base := srvs[i%2].URL
		manifests[i] = imageManifest(t, pushBlobAs(t, base, repo, []byte(fmt.Sprintf(`{"n":%d}`, i))),
			pushBlobAs(t, base, repo, []byte(fmt.Sprintf("layer %d", i))))
	}
	var wg sync.WaitGroup
	for i := range manifests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := do(t, "PUT", srvs[i%2].URL+"/v2/"+repo+"/manifests/prod", scaleToken,
				bytes.NewReader(manifests[i]), "Content-Type", ocispec.MediaTypeImageManifest)
			assert.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
		}()
	}
	wg.Wait()

	vs, err := srvs[1].reg.ListVersions(t.Context(), "self", "race", false)
	require.NoError(t, err)
	require.Len(t, vs, n, "every version pushed is kept")
	numbers := map[int]bool{}
	for _, v := range vs {
		numbers[v.Number] = true
	}
	assert.Len(t, numbers, n, "each version has its own number")
	var winners []string
	for _, s := range srvs {
		resp, got := do(t, "GET", s.URL+"/v2/"+repo+"/manifests/prod", scaleToken, nil, "Accept", ocispec.MediaTypeImageManifest)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		winners = append(winners, digest.FromBytes(got).String())
	}
	assert.Equal(t, winners[0], winners[1], "one winner, seen by both servers")
	found := false
	for _, m := range manifests {
		found = found || digest.FromBytes(m).String() == winners[0]
	}
	assert.True(t, found, "the winner is one of the pushed manifests")
}

// TestScaleOutLateServer: a server started after the others sees every
// project, user, token and version they made.
func TestScaleOutLateServer(t *testing.T) {
	b := newBucket(t)
	a := b.start(t)
	ctx := t.Context()
	_, tok, err := a.acc.CreateUser(ctx, "olive", false, "")
	require.NoError(t, err)
	_, err = a.acc.CreateProject(ctx, "vision", "olive", false)
	require.NoError(t, err)
	_, tok2, err := a.acc.CreateToken(ctx, "olive", "ci", time.Time{})
	require.NoError(t, err)
	m := pushImage(t, a.URL, "vision/runtime/detector", "stable", "det")

	late := b.start(t)
	users, err := late.acc.ListUsers(ctx)
	require.NoError(t, err)
	var names []string
	for _, u := range users {
		names = append(names, u.Name)
	}
	assert.ElementsMatch(t, []string{"admin", "olive"}, names)
	p, err := late.acc.Project(ctx, "vision")
	require.NoError(t, err)
	assert.Equal(t, "vision", p.Name)
	for _, tk := range []string{tok, tok2} {
		resp, body := do(t, "GET", late.URL+"/v2/vision/runtime/detector/manifests/stable", tk, nil, "Accept", ocispec.MediaTypeImageManifest)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		assert.Equal(t, m, body)
	}
}

// TestScaleOutSameBlobTwice: the same large blob uploaded through both
// servers at once is stored once, as one object, with no multipart upload
// left behind.
func TestScaleOutSameBlobTwice(t *testing.T) {
	b := newBucket(t)
	srvs := []*bucketServer{b.start(t), b.start(t)}
	content := bytes.Repeat([]byte("shared layer "), 12<<20/13) // > 2 parts
	d := digest.FromBytes(content)
	var wg sync.WaitGroup
	for i, s := range srvs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := do(t, "POST", s.URL+fmt.Sprintf("/v2/self/runtime/app%d/blobs/uploads/?digest=", i)+d.String(), scaleToken, bytes.NewReader(content))
			assert.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
		}()
	}
	wg.Wait()
	out, err := b.srv.Client.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(b.name), Prefix: aws.String("org/blobs/")})
	require.NoError(t, err)
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	assert.Equal(t, []string{"org/blobs/sha256/" + d.Encoded()}, keys)
	mp, err := b.srv.Client.ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(b.name)})
	require.NoError(t, err)
	assert.Empty(t, mp.Uploads, "no multipart upload left")
	for i := range srvs {
		resp, got := do(t, "GET", srvs[1-i].URL+fmt.Sprintf("/v2/self/runtime/app%d/blobs/", i)+d.String(), scaleToken, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, d, digest.FromBytes(got))
	}
}

// TestScaleOutGC: gc on one server never frees a blob that a push on the
// other found stored (HEAD) and is about to reference; an unreferenced blob
// nobody leased is freed.
func TestScaleOutGC(t *testing.T) {
	b := newBucket(t)
	a, c := b.start(t), b.start(t)
	const repo = "self/runtime/app"
	cfg := pushBlobAs(t, a.URL, repo, []byte(`{"name":"gc"}`))
	layer := pushBlobAs(t, a.URL, repo, []byte("an old layer, unreferenced"))
	// A blob left by an old, removed version: stored, linked nowhere,
	// leased by nobody.
	stray, err := a.reg.PutBlob(t.Context(), strings.NewReader("nobody wants this"), "")
	require.NoError(t, err)

	// The two blobs were pushed long ago: their leases are gone.
	for _, d := range []ocispec.Descriptor{cfg, layer} {
		require.NoError(t, a.st.Delete(t.Context(), "leases/sha256/"+d.Digest.Encoded()))
	}
	// A pusher on a checks what is there: both blobs are, it will not
	// upload them.
	for _, d := range []ocispec.Descriptor{cfg, layer} {
		resp, _ := do(t, "HEAD", a.URL+"/v2/"+repo+"/blobs/"+d.Digest.String(), scaleToken, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	// Meanwhile gc on c, with no grace period for unreferenced blobs.
	st, err := c.reg.GC(t.Context(), registry.GracePeriod(0), registry.LeaseTTL(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, st.BlobsFreed, "only the blob nobody leased")
	has, err := c.reg.HasBlob(t.Context(), stray.Digest)
	require.NoError(t, err)
	assert.False(t, has)

	// The push on a completes and pulls on c.
	m := imageManifest(t, cfg, layer)
	resp, body := do(t, "PUT", a.URL+"/v2/"+repo+"/manifests/stable", scaleToken, bytes.NewReader(m), "Content-Type", ocispec.MediaTypeImageManifest)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	for _, d := range []ocispec.Descriptor{cfg, layer} {
		resp, got := do(t, "GET", c.URL+"/v2/"+repo+"/blobs/"+d.Digest.String(), scaleToken, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, d.Digest, digest.FromBytes(got))
	}
}

// TestScaleOutS3Outage: S3 goes away in the middle of a push: the push
// fails with a clear error and leaves no version; with S3 back, the same
// push completes.
func TestScaleOutS3Outage(t *testing.T) {
	b := newBucket(t)
	p := s3test.NewProxy(t, b.srv)
	b.url = p.URL(b.name, "org") + "&part_size=5MiB&single_put_size=5MiB&max_attempts=3&max_backoff=50ms"
	a := b.start(t)
	const repo = "self/runtime/outage"
	cfg := pushBlobAs(t, a.URL, repo, []byte(`{"name":"outage"}`))

	p.Stop()
	layerBytes := bytes.Repeat([]byte("layer "), 2<<20)
	d := digest.FromBytes(layerBytes)
	resp, body := do(t, "POST", a.URL+"/v2/"+repo+"/blobs/uploads/?digest="+d.String(), scaleToken, bytes.NewReader(layerBytes))
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
	t.Logf("push while S3 is down: %d %s", resp.StatusCode, body)
	assert.Contains(t, string(body), `store (s3store) is unavailable`, "the error says what failed")
	m := imageManifest(t, cfg, ocispec.Descriptor{Digest: d, Size: int64(len(layerBytes))})
	resp, body = do(t, "PUT", a.URL+"/v2/"+repo+"/manifests/stable", scaleToken, bytes.NewReader(m), "Content-Type", ocispec.MediaTypeImageManifest)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)

	require.NoError(t, p.Start())
	resp, _ = do(t, "GET", a.URL+"/v2/"+repo+"/manifests/stable", scaleToken, nil, "Accept", ocispec.MediaTypeImageManifest)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "no partial version")
	vs, err := a.reg.ListVersions(t.Context(), "self", "outage", true)
	if err == nil {
		assert.Empty(t, vs)
	}

	// The re-run completes.
	pushBlobAs(t, a.URL, repo, layerBytes)
	resp, body = do(t, "PUT", a.URL+"/v2/"+repo+"/manifests/stable", scaleToken, bytes.NewReader(m), "Content-Type", ocispec.MediaTypeImageManifest)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	resp, got := do(t, "GET", a.URL+"/v2/"+repo+"/blobs/"+d.String(), scaleToken, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, d, digest.FromBytes(got))
}

// TestAPIStoreUnavailable: with S3 stopped under a running server, /api/v1
// answers 503 with one line that names the store and says to try again
// (like /v2), never the bucket, the endpoint or a credential; with S3 back
// the same calls work.
func TestAPIStoreUnavailable(t *testing.T) {
	b := newBucket(t)
	p := s3test.NewProxy(t, b.srv)
	b.url = p.URL(b.name, "org") + "&max_attempts=2&max_backoff=50ms"
	a := b.start(t)
	pushImage(t, a.URL, "self/runtime/down", "v", "down")

	p.Stop()
	calls := []struct{ method, path, body string }{
		{"GET", "/api/v1/projects/self/runtimes", ""},
		{"GET", "/api/v1/projects/self/runtimes/down/versions", ""},
		{"POST", "/api/v1/projects", `{"name":"during-outage"}`},
	}
	for _, c := range calls {
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		resp, out := do(t, c.method, a.URL+c.path, scaleToken, body, "Content-Type", "application/json")
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s %s: %s", c.method, c.path, out)
		var e struct {
			Error struct{ Code, Message string }
		}
		require.NoError(t, json.Unmarshal(out, &e), "%s", out)
		assert.Equal(t, "unavailable", e.Error.Code)
		assert.Equal(t, "the server's store (s3store) is unavailable; nothing was stored by this request; try again (details in the server log)", e.Error.Message)
		for _, secret := range []string{b.name, p.Endpoint, strings.TrimPrefix(p.Endpoint, "http://"), s3test.SecretKey, s3test.AccessKey} {
			assert.NotContains(t, string(out), secret)
		}
	}

	require.NoError(t, p.Start())
	for _, c := range calls[:2] {
		resp, out := do(t, c.method, a.URL+c.path, scaleToken, nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s %s after S3 is back: %s", c.method, c.path, out)
	}
}
