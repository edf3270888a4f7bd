package main_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/workflow"
	"github.com/swcli/swcli/internal/s3test"
	"github.com/swcli/swcli/sdk/testpy"
)

// ociDo sends one /v2 request with the token as the Basic password.
func ociDo(t *testing.T, method, url, token string, body []byte, hdr ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.SetBasicAuth("admin", token)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// TestServerStoreS3: two `swcli server start --store s3://...` processes on
// one versitygw bucket are one instance: the first (with --data, where it
// writes admin.token) makes the admin, the second (no --data) uses it; a
// runtime pushed through one pulls through the other.
func TestServerStoreS3(t *testing.T) {
	srv := s3test.Start(t)
	c := newCLI(t)
	c.setenv("AWS_ACCESS_KEY_ID="+s3test.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3test.SecretKey)
	url := srv.URL(srv.Bucket(t), "prod")
	data := t.TempDir()
	a := startServerWith(t, c, "--data", data, "--store", url)
	tok, err := os.ReadFile(filepath.Join(data, "admin.token"))
	require.NoError(t, err)
	token := strings.TrimSpace(string(tok))
	b := startServerWith(t, c, "--store", url)

	const repo = "/v2/self/runtime/mnist"
	var descs []ocispec.Descriptor
	for _, blob := range [][]byte{[]byte(`{"name":"mnist"}`), bytes.Repeat([]byte("layer "), 1<<20)} {
		d := digest.FromBytes(blob)
		code, body := ociDo(t, "POST", a.url+repo+"/blobs/uploads/?digest="+d.String(), token, blob)
		require.Equal(t, http.StatusCreated, code, "%s", body)
		descs = append(descs, ocispec.Descriptor{MediaType: "application/octet-stream", Digest: d, Size: int64(len(blob))})
	}
	descs[0].MediaType = "application/vnd.starwhale.runtime.config.v1+json"
	m, err := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: "application/vnd.starwhale.runtime.v1", Config: descs[0], Layers: descs[1:]})
	require.NoError(t, err)
	code, body := ociDo(t, "PUT", a.url+repo+"/manifests/stable", token, m, "Content-Type", ocispec.MediaTypeImageManifest)
	require.Equal(t, http.StatusCreated, code, "%s", body)

	code, got := ociDo(t, "GET", b.url+repo+"/manifests/stable", token, nil, "Accept", ocispec.MediaTypeImageManifest)
	require.Equal(t, http.StatusOK, code, "%s", got)
	assert.Equal(t, m, got)
	code, got = ociDo(t, "GET", b.url+repo+"/blobs/"+descs[1].Digest.String(), token, nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, descs[1].Digest, digest.FromBytes(got))
	assert.NotContains(t, a.stderr()+b.stderr(), s3test.SecretKey, "no secret in the logs")
}

// TestServerStoreBad: a bad store URL, wrong credentials or a missing
// bucket stop `swcli server start` with one line, before it listens, and
// no secret in it.
func TestServerStoreBad(t *testing.T) {
	srv := s3test.Start(t)
	c := newCLI(t)
	c.setenv("AWS_ACCESS_KEY_ID="+s3test.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3test.SecretKey)
	bucket := srv.Bucket(t)
	data := t.TempDir()
	start := func(url string) []string {
		return []string{"server", "start", "--listen", "127.0.0.1:0", "--data", data, "--store", url}
	}
	c.fail([]string{`no store serves the scheme "gcs"; allowed: file, s3`}, start("gcs://b/p")...)
	c.fail([]string{`unknown query key "colour"; allowed: concurrency, endpoint,`}, start(srv.URL(bucket, "p")+"&colour=blue")...)
	c.fail([]string{"credentials do not belong in a store URL"}, start("s3://AKIA:hunter2@"+bucket+"/p")...)
	c.fail([]string{`bucket "missing-bucket" does not exist at ` + srv.Endpoint}, start(srv.URL("missing-bucket", "p")+"&max_attempts=1")...)
	c.setenv("AWS_SECRET_ACCESS_KEY=hunter2-wrong")
	out := c.fail([]string{`access to bucket "` + bucket + `" at ` + srv.Endpoint + ` denied`}, start(srv.URL(bucket, "p")+"&max_attempts=1")...)
	assert.NotContains(t, out, "hunter2")
}

// TestServerStoreGCTwoProcesses: `swcli server gc` in one process never
// frees a blob that a push through a server process on the same bucket
// found stored (HEAD) and is about to reference; a blob nobody uses is
// freed.
func TestServerStoreGCTwoProcesses(t *testing.T) {
	srv := s3test.Start(t)
	c := newCLI(t)
	c.setenv("AWS_ACCESS_KEY_ID="+s3test.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3test.SecretKey)
	bucket := srv.Bucket(t)
	url := srv.URL(bucket, "prod")
	data := t.TempDir()
	a := startServerWith(t, c, "--data", data, "--store", url)
	tok, err := os.ReadFile(filepath.Join(data, "admin.token"))
	require.NoError(t, err)
	token := strings.TrimSpace(string(tok))

	const repo = "/v2/self/runtime/app"
	var descs []ocispec.Descriptor
	for _, blob := range []string{`{"name":"app"}`, "an old layer", "a stray blob"} {
		d := digest.FromString(blob)
		code, body := ociDo(t, "POST", a.url+repo+"/blobs/uploads/?digest="+d.String(), token, []byte(blob))
		require.Equal(t, http.StatusCreated, code, "%s", body)
		descs = append(descs, ocispec.Descriptor{MediaType: "application/octet-stream", Digest: d, Size: int64(len(blob))})
		// pushed long ago: no lease left
		_, err := srv.Client.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("prod/leases/sha256/" + d.Encoded())})
		require.NoError(t, err)
	}
	cfg, layer, stray := descs[0], descs[1], descs[2]
	for _, d := range []ocispec.Descriptor{cfg, layer} { // a pusher finds these stored
		code, _ := ociDo(t, "HEAD", a.url+repo+"/blobs/"+d.Digest.String(), token, nil)
		require.Equal(t, http.StatusOK, code)
	}

	gc := newCLI(t) // another sandbox: c's server keeps running
	gc.setenv("AWS_ACCESS_KEY_ID="+s3test.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3test.SecretKey)
	out := gc.ok("server", "gc", "--store", url, "--grace", "0s", "--lease-ttl", "1h", "-o", "json")
	assert.Contains(t, out.stdout, `"blobs_freed": 1`, out.String())

	cfg.MediaType = "application/vnd.starwhale.runtime.config.v1+json"
	m, err := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: "application/vnd.starwhale.runtime.v1", Config: cfg, Layers: []ocispec.Descriptor{layer}})
	require.NoError(t, err)
	code, body := ociDo(t, "PUT", a.url+repo+"/manifests/stable", token, m, "Content-Type", ocispec.MediaTypeImageManifest)
	require.Equal(t, http.StatusCreated, code, "the push completes: %s", body)
	code, got := ociDo(t, "GET", a.url+repo+"/blobs/"+layer.Digest.String(), token, nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "an old layer", string(got))
	code, _ = ociDo(t, "HEAD", a.url+repo+"/blobs/"+stray.Digest.String(), token, nil)
	assert.Equal(t, http.StatusNotFound, code, "the stray blob was freed")
}

// TestStoreS3Standalone: a team without a server shares one bucket: one
// machine builds with SW_STORE, another (its own storage root, the bucket
// in its CLI config's `store:`) lists, restores and runs the version; gc
// there frees nothing in use. A bad SW_STORE is one line.
func TestStoreS3Standalone(t *testing.T) {
	srv := s3test.Start(t)
	py := pythons(t)[0]
	url := srv.URL(srv.Bucket(t), "team-a")
	creds := []string{"AWS_ACCESS_KEY_ID=" + s3test.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3test.SecretKey}

	a := newCLI(t)
	a.setenv(append(creds, "SW_STORE="+url)...)
	wd := stWorkdir(t, filepath.Join(t.TempDir(), "wd"), "shared-rt", py.Version, testpy.Wheel{Name: "tiny-a", Version: "1.0"})
	b0 := a.stBuildOK(wd, "-t", "team")
	_, err := os.Stat(a.stStore())
	assert.True(t, os.IsNotExist(err), "nothing in the filesystem store: the version is in the bucket")

	b := newCLI(t)
	b.setenv(creds...)
	write(t, filepath.Join(b.home, "config", "config.yaml"), "current_instance: local\ninstances:\n  local: {uri: local, type: standalone}\nstore: '"+url+"'\n")
	h := b.stHistory("shared-rt")
	require.Len(t, h, 1)
	assert.Equal(t, b0.Version, h[0].Short)
	assert.Contains(t, h[0].Tags, "team")
	out := b.ok("runtime", "run", "shared-rt/version/team", "--", "python", "-c", "import tiny_a; print('ok')")
	assert.Contains(t, out.stdout, "ok")
	gc := stJSON[workflow.GCStats](t, b.ok("-o", "json", "runtime", "gc", "--grace", "0s").stdout)
	assert.Equal(t, 0, gc.BlobsFreed, "every blob is used by the version")
	// gc lists the projects through the bucket, not the filesystem store:
	// the version run restored is live, so its restored environment and
	// its cached layers stay.
	assert.Zero(t, gc.CachesRemoved, "the restored environment of a live version stays")
	assert.Zero(t, gc.LayerCache.Freed.Entries, "the cached layers of a live version stay")
	assert.Positive(t, gc.LayerCache.Kept.Entries)
	b.ok("runtime", "info", "shared-rt/version/"+b0.Version)

	bad := newCLI(t)
	bad.setenv(append(creds, "SW_STORE="+srv.URL("no-such-bucket", "x")+"&max_attempts=1")...)
	bad.fail([]string{"SW_STORE", `bucket "no-such-bucket" does not exist`}, "runtime", "list")
}
