package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/internal/s3test"
)

// TestS3RequestsPerCall pins how many S3 requests one server request
// costs, counted through a proxy in front of versitygw (on AWS each is
// 10-50 ms, so they dominate small-blob and manifest latency). Reading a
// record with its ETag is one GetObject (store.GetWithInfo), and what a
// token and a project resolved to is cached for a few seconds, so:
//
//   - cold (first request with a token): token, user and project records,
//     one GET each, then what the route itself reads;
//   - warm (the next requests with that token): the route only.
func TestS3RequestsPerCall(t *testing.T) {
	b := newBucket(t)
	p := s3test.NewProxy(t, b.srv)
	b.url = p.URL(b.name, "org") + "&part_size=5MiB&single_put_size=5MiB"
	const repo = "self/runtime/counted"
	m := pushImage(t, b.start(t).URL, repo, "t1", "counted")
	var man ocispec.Manifest
	require.NoError(t, json.Unmarshal(m, &man))
	blob := "/v2/" + repo + "/blobs/" + man.Config.Digest.String()
	manifest := "/v2/" + repo + "/manifests/t1"

	count := func(base, name, path string) int {
		t.Helper()
		p.Calls()
		resp, body := do(t, "GET", base+path, scaleToken, nil, "Accept", ocispec.MediaTypeImageManifest)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", name, body)
		got := p.Calls()
		t.Logf("%s: %d S3 requests:\n\t%s", name, len(got), strings.Join(got, "\n\t"))
		return len(got)
	}
	for _, c := range []struct {
		name, path string
		cold, warm int // S3 requests
	}{
		// link HEAD, blob GET (its size comes with the bytes:
		// registry.OpenLinkedBlob; with a Range, a blob HEAD first)
		{"blob GET", blob, 5, 2},
		// removal mark, tag, version record, manifest blob: one GET each
		{"manifest GET", manifest, 7, 4},
		{"/api/v1 list", "/api/v1/projects/self/runtimes", 7, 4},
	} {
		srv := b.start(t) // a fresh server: its auth cache is empty
		require.Equal(t, c.cold, count(srv.URL, c.name+", cold", c.path), "%s, cold: S3 requests", c.name)
		require.Equal(t, c.warm, count(srv.URL, c.name+", warm", c.path), "%s, warm: S3 requests", c.name)
	}
}
