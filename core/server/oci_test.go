package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/server"
	"github.com/swcli/swcli/core/store"
)

// do sends one request with token (Bearer; "" for none) and returns the
// response with its body read.
func do(t testing.TB, method, url, token string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	if token != "" {
		req.SetBasicAuth("someone", token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	return resp, b
}

// errCode is the first OCI error code of a body.
func errCode(t testing.TB, b []byte) string {
	t.Helper()
	var e struct {
		Errors []struct{ Code string } `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(b, &e), "body %s", b)
	require.NotEmpty(t, e.Errors, "body %s", b)
	return e.Errors[0].Code
}

// pushBlob uploads content monolithically to repo.
func pushBlob(t testing.TB, ts *testServer, repo string, content []byte) ocispec.Descriptor {
	t.Helper()
	return pushBlobTo(t, ts.URL, repo, content)
}

// pushBlobTo uploads content monolithically to repo of the server at base.
func pushBlobTo(t testing.TB, base, repo string, content []byte) ocispec.Descriptor {
	t.Helper()
	d := digest.FromBytes(content)
	resp, b := do(t, "POST", base+"/v2/"+repo+"/blobs/uploads/?digest="+d.String(), adminToken, bytes.NewReader(content))
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", b)
	return ocispec.Descriptor{MediaType: bundle.MediaTypeLayer, Digest: d, Size: int64(len(content))}
}

// imageManifest is a runtime-like artifact manifest over config and layers.
func imageManifest(t testing.TB, config ocispec.Descriptor, layers ...ocispec.Descriptor) []byte {
	t.Helper()
	config.MediaType = bundle.MediaTypeConfig
	b, err := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: bundle.ArtifactType, Config: config, Layers: layers,
	})
	require.NoError(t, err)
	return b
}

func putManifest(t testing.TB, ts *testServer, repo, ref string, m []byte) (*http.Response, []byte) {
	t.Helper()
	return do(t, "PUT", ts.URL+"/v2/"+repo+"/manifests/"+ref, adminToken, bytes.NewReader(m),
		"Content-Type", ocispec.MediaTypeImageManifest)
}

func TestOCIAuth(t *testing.T) {
	ts := newTestServer(t)
	resp, _ := do(t, "GET", ts.URL+"/v2/", "", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, `Basic realm="swcli"`, resp.Header.Get("WWW-Authenticate"))
	resp, _ = do(t, "GET", ts.URL+"/v2/", "wrong-token", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a wrong token")
	resp, _ = do(t, "GET", ts.URL+"/v2/", adminToken, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// anonymous: 401 on a private project, pull only on a public one
	resp, b := do(t, "GET", ts.URL+"/v2/self/runtime/app/tags/list", "", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, "UNAUTHORIZED", errCode(t, b))
	resp, _ = do(t, "GET", ts.URL+"/v2/pub/runtime/app/tags/list", "", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = do(t, "POST", ts.URL+"/v2/pub/runtime/app/blobs/uploads/", "", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// a guest pulls but does not push or delete; no role at all: 403
	resp, _ = do(t, "GET", ts.URL+"/v2/self/runtime/app/tags/list", guestToken, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, b = do(t, "POST", ts.URL+"/v2/self/runtime/app/blobs/uploads/", guestToken, nil)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, "DENIED", errCode(t, b))
	resp, _ = do(t, "POST", ts.URL+"/v2/self/runtime/app/blobs/uploads/", adminToken, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	resp, _ = do(t, "GET", ts.URL+resp.Header.Get("Location"), guestToken, nil)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "an upload session is push business")
	resp, _ = do(t, "DELETE", ts.URL+"/v2/self/runtime/app/manifests/x", guestToken, nil)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = do(t, "GET", ts.URL+"/v2/other/runtime/app/tags/list", guestToken, nil)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}

func TestOCINames(t *testing.T) {
	ts := newTestServer(t)
	for _, repo := range []string{"self/app", "self/job/app", "Self/runtime/app", "self/runtime/App", "self/runtime/a..b", "a/b/runtime/app"} {
		resp, b := do(t, "GET", ts.URL+"/v2/"+repo+"/tags/list", adminToken, nil)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, repo)
		assert.Equal(t, "NAME_INVALID", errCode(t, b), repo)
	}
	resp, b := do(t, "GET", ts.URL+"/v2/self/runtime/app/blobs/sha256:nothex", adminToken, nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "DIGEST_INVALID", errCode(t, b))
	resp, b = do(t, "GET", ts.URL+"/v2/self/runtime/app/manifests/-bad", adminToken, nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "TAG_INVALID", errCode(t, b))
}

func TestOCIManifestRules(t *testing.T) {
	ts := newTestServer(t)
	const repo = "self/runtime/app"
	cfg := pushBlob(t, ts, repo, []byte(`{"name":"app"}`))
	layer := pushBlob(t, ts, repo, []byte("layer"))
	m := imageManifest(t, cfg, layer)

	// a manifest whose blobs are not in the repository is refused
	missing := ocispec.Descriptor{MediaType: bundle.MediaTypeLayer, Digest: digest.FromString("absent"), Size: 6}
	resp, b := putManifest(t, ts, repo, "t1", imageManifest(t, cfg, layer, missing))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "MANIFEST_BLOB_UNKNOWN", errCode(t, b))
	// ... also when the blob is stored but only linked in another repository
	other := pushBlob(t, ts, "self/runtime/other", []byte("secret layer"))
	resp, b = putManifest(t, ts, repo, "t1", imageManifest(t, cfg, other))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "MANIFEST_BLOB_UNKNOWN", errCode(t, b))
	resp, _ = do(t, "GET", ts.URL+"/v2/"+repo+"/blobs/"+other.Digest.String(), adminToken, nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "a blob is readable only where it is linked")

	// vN is given, never chosen
	resp, b = putManifest(t, ts, repo, "v7", m)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "TAG_INVALID", errCode(t, b))

	resp, b = putManifest(t, ts, repo, "t1", m)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", b)
	d := digest.FromBytes(m)
	assert.Equal(t, d.String(), resp.Header.Get("Docker-Content-Digest"))
	_, b = do(t, "GET", ts.URL+"/v2/"+repo+"/tags/list", adminToken, nil)
	assert.JSONEq(t, `{"name":"self/runtime/app","tags":["latest","t1","v0"]}`, string(b))
	for _, ref := range []string{"t1", "latest", "v0", d.String()} {
		resp, b = do(t, "GET", ts.URL+"/v2/"+repo+"/manifests/"+ref, guestToken, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, ref)
		assert.Equal(t, m, b, ref)
		assert.Equal(t, ocispec.MediaTypeImageManifest, resp.Header.Get("Content-Type"))
	}
	// it is a version of the registry like a build
	v, err := ts.reg.Resolve(t.Context(), "self", "app", "t1")
	require.NoError(t, err)
	assert.Equal(t, []string{"v0", "latest", "t1"}, v.Tags)

	// a manifest larger than the limit
	big := bytes.Repeat([]byte(" "), 4<<20+1)
	resp, b = putManifest(t, ts, repo, "big", big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Equal(t, "SIZE_INVALID", errCode(t, b))

	// deleting the reserved tags is refused; a user tag goes
	resp, _ = do(t, "DELETE", ts.URL+"/v2/"+repo+"/manifests/v0", adminToken, nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, _ = do(t, "DELETE", ts.URL+"/v2/"+repo+"/manifests/t1", adminToken, nil)
	assert.Equal(t, http.StatusAccepted, resp.StatusCode)
	resp, _ = do(t, "HEAD", ts.URL+"/v2/"+repo+"/manifests/t1", adminToken, nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestOCITagPagination(t *testing.T) {
	ts := newTestServer(t, server.WithMaxTagsPage(3))
	const repo = "self/runtime/app"
	cfg := pushBlob(t, ts, repo, []byte(`{}`))
	m := imageManifest(t, cfg)
	for _, tag := range []string{"a", "b", "c", "d"} {
		resp, b := putManifest(t, ts, repo, tag, m)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", b)
	}
	// a b c d latest v0
	var seen []string
	next := "/v2/" + repo + "/tags/list?n=2"
	for next != "" {
		resp, b := do(t, "GET", ts.URL+next, adminToken, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var tl struct{ Tags []string }
		require.NoError(t, json.Unmarshal(b, &tl))
		assert.LessOrEqual(t, len(tl.Tags), 2)
		seen = append(seen, tl.Tags...)
		next = ""
		if l := resp.Header.Get("Link"); l != "" {
			next = strings.TrimSuffix(strings.TrimPrefix(l, "<"), `>; rel="next"`)
		}
	}
	assert.Equal(t, []string{"a", "b", "c", "d", "latest", "v0"}, seen)
	_, b := do(t, "GET", ts.URL+"/v2/"+repo+"/tags/list?n=100", adminToken, nil)
	var tl struct{ Tags []string }
	require.NoError(t, json.Unmarshal(b, &tl))
	assert.Len(t, tl.Tags, 3, "n is cut to the page limit")
}

func TestOCIMount(t *testing.T) {
	ts := newTestServer(t)
	secret := pushBlob(t, ts, "other/runtime/src", []byte("only for owners of other"))
	// alice may pull from other: the blob is linked into self/runtime/dst
	resp, _ := do(t, "POST", ts.URL+"/v2/self/runtime/dst/blobs/uploads/?mount="+secret.Digest.String()+"&from=other/runtime/src", adminToken, nil)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	resp, b := do(t, "GET", ts.URL+"/v2/self/runtime/dst/blobs/"+secret.Digest.String(), adminToken, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "only for owners of other", string(b))

	// a mount of a blob the source repository does not have starts an upload
	resp, _ = do(t, "POST", ts.URL+"/v2/self/runtime/dst2/blobs/uploads/?mount="+secret.Digest.String()+"&from=self/runtime/nothing", adminToken, nil)
	assert.Equal(t, http.StatusAccepted, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Location"))
}

func TestOCIMountNeedsPullOnSource(t *testing.T) {
	ts := newTestServer(t)
	acc := newAccess()
	acc.roles["bob"]["mine"] = "maintainer"
	ts2 := newTestServerOnAccess(t, ts.store, acc)
	secret := pushBlob(t, ts, "other/runtime/src", []byte("secret"))
	resp, _ := do(t, "POST", ts2.URL+"/v2/mine/runtime/dst/blobs/uploads/?mount="+secret.Digest.String()+"&from=other/runtime/src", guestToken, nil)
	assert.Equal(t, http.StatusAccepted, resp.StatusCode, "no pull right on the source: an upload, not a mount")
	resp, _ = do(t, "GET", ts2.URL+"/v2/mine/runtime/dst/blobs/"+secret.Digest.String(), guestToken, nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	// knowing the digest is not enough: a monolithic push with other bytes is refused
	resp, b := do(t, "POST", ts2.URL+"/v2/mine/runtime/dst/blobs/uploads/?digest="+secret.Digest.String(), guestToken, strings.NewReader("guess"))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "DIGEST_INVALID", errCode(t, b))
	resp, _ = do(t, "GET", ts2.URL+"/v2/mine/runtime/dst/blobs/"+secret.Digest.String(), guestToken, nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// TestOCIUploadAcrossServers starts a chunked upload on one server, asks
// another sharing the store where it stands, and finishes it there.
func TestOCIUploadAcrossServers(t *testing.T) {
	s := newStore(t)
	a, b := newTestServerOn(t, s), newTestServerOn(t, s)
	const repo = "self/runtime/app"
	content := bytes.Repeat([]byte("0123456789"), 1000)
	d := digest.FromBytes(content)

	resp, _ := do(t, "POST", a.URL+"/v2/"+repo+"/blobs/uploads/", adminToken, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	loc := resp.Header.Get("Location")
	resp, body := do(t, "PATCH", a.URL+loc, adminToken, bytes.NewReader(content[:4000]),
		"Content-Range", "0-3999", "Content-Type", "application/octet-stream")
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", body)
	assert.Equal(t, "0-3999", resp.Header.Get("Range"))

	// b knows the session
	resp, _ = do(t, "GET", b.URL+loc, adminToken, nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, "0-3999", resp.Header.Get("Range"))
	// a chunk at the wrong offset: 416 with where to resume
	resp, _ = do(t, "PATCH", b.URL+loc, adminToken, bytes.NewReader(content[5000:6000]), "Content-Range", "5000-5999")
	assert.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)
	assert.Equal(t, "0-3999", resp.Header.Get("Range"))
	resp, _ = do(t, "PATCH", b.URL+loc, adminToken, bytes.NewReader(content[4000:]), "Content-Range", fmt.Sprintf("4000-%d", len(content)-1))
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	// a wrong digest keeps the session
	resp, body = do(t, "PUT", b.URL+loc+"?digest="+digest.FromString("x").String(), adminToken, nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "DIGEST_INVALID", errCode(t, body))
	resp, _ = do(t, "PUT", a.URL+loc+"?digest="+d.String(), adminToken, nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	resp, got := do(t, "GET", b.URL+"/v2/"+repo+"/blobs/"+d.String(), adminToken, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, content, got)
	// the session is gone, from the store too
	resp, _ = do(t, "GET", a.URL+loc, adminToken, nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	var left []string
	require.NoError(t, s.List(t.Context(), "uploads/", func(i store.Info) error { left = append(left, i.Key); return nil }))
	assert.Empty(t, left)

	// ranged reads
	resp, got = do(t, "GET", a.URL+"/v2/"+repo+"/blobs/"+d.String(), adminToken, nil, "Range", "bytes=10-19")
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, content[10:20], got)
	resp, got = do(t, "GET", a.URL+"/v2/"+repo+"/blobs/"+d.String(), adminToken, nil, "Range", "bytes=-5")
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, content[len(content)-5:], got)
	resp, _ = do(t, "GET", a.URL+"/v2/"+repo+"/blobs/"+d.String(), adminToken, nil, "Range", "bytes=99999-")
	assert.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)
}

func TestOCIBlobLimit(t *testing.T) {
	ts := newTestServer(t, server.WithMaxBlobSize(100))
	const repo = "self/runtime/app"
	content := bytes.Repeat([]byte("x"), 101)
	resp, b := do(t, "POST", ts.URL+"/v2/"+repo+"/blobs/uploads/?digest="+digest.FromBytes(content).String(), adminToken, bytes.NewReader(content))
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Equal(t, "SIZE_INVALID", errCode(t, b))
	has, err := ts.reg.HasBlob(t.Context(), digest.FromBytes(content))
	require.NoError(t, err)
	assert.False(t, has)
}
