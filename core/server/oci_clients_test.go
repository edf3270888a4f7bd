package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ociClient runs the real oras or crane CLI (from ~/go/bin or PATH) with a
// Docker config that logs in to ts with a token as the password.
type ociClient struct {
	t      *testing.T
	env    []string
	dir    string
	binDir string
}

func newOCIClient(t *testing.T, ts *testServer) *ociClient {
	t.Helper()
	home, _ := os.UserHomeDir()
	c := &ociClient{t: t, dir: t.TempDir(), binDir: filepath.Join(home, "go", "bin")}
	for _, tool := range []string{"oras", "crane"} {
		if c.bin(tool) == "" {
			t.Skipf("%s not found in ~/go/bin or on PATH (go install it to run this test)", tool)
		}
	}
	cfgDir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("alice:" + adminToken))
	cfg := `{"auths":{"` + ts.host + `":{"auth":"` + auth + `"}}}`
	require.NoError(t, os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(cfg), 0o600))
	c.env = append(os.Environ(), "DOCKER_CONFIG="+cfgDir, "HOME="+t.TempDir())
	return c
}

func (c *ociClient) bin(tool string) string {
	if p := filepath.Join(c.binDir, tool); fileExists(p) {
		return p
	}
	p, _ := exec.LookPath(tool)
	return p
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// run runs tool with args in the client's folder and returns stdout; a
// failure fails the test with stderr.
func (c *ociClient) run(tool string, args ...string) string {
	c.t.Helper()
	out, err := c.try(tool, args...)
	require.NoError(c.t, err, "%s %s: %s", tool, strings.Join(args, " "), out)
	return out
}

func (c *ociClient) try(tool string, args ...string) (string, error) {
	cmd := exec.Command(c.bin(tool), args...)
	cmd.Dir, cmd.Env = c.dir, c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// TestOCIOrasCrane pushes and pulls with the real oras and crane CLIs:
// oras push/pull/attach/discover, crane ls/copy/digest, and a wrong
// password refused.
func TestOCIOrasCrane(t *testing.T) {
	ts := newTestServer(t)
	c := newOCIClient(t, ts)
	repo := ts.host + "/self/runtime/orasapp"
	require.NoError(t, os.WriteFile(filepath.Join(c.dir, "a.txt"), []byte("hello from oras\n"), 0o644))
	c.run("oras", "push", "--plain-http", "--artifact-type", "application/vnd.test.v1", repo+":t1", "a.txt:text/plain")

	out := filepath.Join(c.dir, "out")
	c.run("oras", "pull", "--plain-http", "-o", out, repo+":t1")
	got, err := os.ReadFile(filepath.Join(out, "a.txt"))
	require.NoError(t, err)
	assert.Equal(t, "hello from oras\n", string(got))

	tags := strings.Fields(c.run("crane", "ls", "--insecure", repo))
	assert.ElementsMatch(t, []string{"latest", "t1", "v0"}, tags)

	// crane copy between repositories (a cross-repository mount or a push)
	c.run("crane", "copy", "--insecure", repo+":t1", ts.host+"/self/runtime/copied:c1")
	d1 := strings.TrimSpace(c.run("crane", "digest", "--insecure", repo+":t1"))
	d2 := strings.TrimSpace(c.run("crane", "digest", "--insecure", ts.host+"/self/runtime/copied:c1"))
	assert.Equal(t, d1, d2)
	assert.True(t, strings.HasPrefix(d1, "sha256:"))

	// referrers: oras attach, then discover with the artifact type
	require.NoError(t, os.WriteFile(filepath.Join(c.dir, "sig.txt"), []byte("signature"), 0o644))
	c.run("oras", "attach", "--plain-http", "--artifact-type", "application/vnd.test.sig", repo+":t1", "sig.txt")
	disc := c.run("oras", "discover", "--plain-http", "--format", "json", "--artifact-type", "application/vnd.test.sig", repo+":t1")
	assert.Contains(t, disc, "application/vnd.test.sig")
	var tree struct {
		Referrers []struct{ ArtifactType string } `json:"referrers"`
		Manifests []struct{ ArtifactType string } `json:"manifests"`
	}
	require.NoError(t, json.Unmarshal([]byte(disc), &tree), disc)
	assert.Len(t, append(tree.Referrers, tree.Manifests...), 1, disc)

	// anonymous: a public project pulls, a private one does not
	c.run("crane", "copy", "--insecure", repo+":t1", ts.host+"/pub/runtime/open:o1")
	anon := &ociClient{t: t, dir: c.dir, binDir: c.binDir, env: append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "HOME="+t.TempDir())}
	assert.Equal(t, d1, strings.TrimSpace(anon.run("crane", "digest", "--insecure", ts.host+"/pub/runtime/open:o1")))
	_, err = anon.try("crane", "digest", "--insecure", repo+":t1")
	assert.Error(t, err)

	// a wrong password is refused
	_, err = c.try("oras", "pull", "--plain-http", "-u", "alice", "-p", "wrong", "-o", out, repo+":t1")
	assert.Error(t, err)
}

// TestOCIClientsReadBuiltRuntime reads a version made by
// registry.PutVersion (as swcli build stores it) with crane and oras as an
// ordinary OCI artifact.
func TestOCIClientsReadBuiltRuntime(t *testing.T) {
	ts := newTestServer(t)
	c := newOCIClient(t, ts)
	cfg, err := ts.reg.PutBlob(t.Context(), strings.NewReader(`{"name":"built"}`), "")
	require.NoError(t, err)
	layerBytes := bytes.Repeat([]byte("env layer "), 5000)
	layer, err := ts.reg.PutBlob(t.Context(), bytes.NewReader(layerBytes), "")
	require.NoError(t, err)
	layer.MediaType = "application/vnd.starwhale.runtime.layer.v1.tar+zstd"
	m := imageManifest(t, cfg, layer)
	_, err = ts.reg.PutVersion(t.Context(), "self", "built", m, []string{"prod"})
	require.NoError(t, err)
	repo := ts.host + "/self/runtime/built"

	assert.Equal(t, string(m), c.run("crane", "manifest", "--insecure", repo+":latest"))
	assert.Equal(t, string(m), c.run("oras", "manifest", "fetch", "--plain-http", repo+":v0"))
	assert.Equal(t, string(layerBytes), c.run("crane", "blob", "--insecure", repo+"@"+layer.Digest.String()))
	assert.Contains(t, strings.Fields(c.run("crane", "ls", "--insecure", repo)), "prod")

	// a full pull into an OCI layout, every blob verified by oras
	layout := filepath.Join(c.dir, "layout")
	c.run("oras", "copy", "--from-plain-http", "--to-oci-layout", repo+":prod", layout+":prod")
	for _, d := range []digest.Digest{digest.FromBytes(m), cfg.Digest, layer.Digest} {
		b, err := os.ReadFile(filepath.Join(layout, "blobs", "sha256", d.Encoded()))
		require.NoError(t, err, "blob %s in the pulled layout", d)
		assert.Equal(t, d, digest.FromBytes(b))
	}
	var idx ocispec.Index
	b, err := os.ReadFile(filepath.Join(layout, "index.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &idx))
	require.Len(t, idx.Manifests, 1)
	assert.Equal(t, digest.FromBytes(m), idx.Manifests[0].Digest)
}
