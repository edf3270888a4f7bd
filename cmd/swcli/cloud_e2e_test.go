package main_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/internal/testbin"
)

// TestCloudCopyIssueBlock runs the sharing steps of the README against a
// real `swcli server start` on 127.0.0.1, then the admin commands and the
// bad inputs.
func TestCloudCopyIssueBlock(t *testing.T) {
	fix := sharedRuntime(t)
	c := newCLI(t)
	c.ok("runtime", "build", "-t", "prod", fix.wd)
	srv := newCLI(t) // its own sandbox: the server outlives c's commands
	data := filepath.Join(srv.home, "srv")
	s := startServer(t, srv, data)
	tok, err := os.ReadFile(filepath.Join(data, "admin.token"))
	require.NoError(t, err)
	token := strings.TrimSpace(string(tok))

	r := c.ok("instance", "login", s.url, "--alias", "dev", "--token", token)
	assert.NotContains(t, r.stdout+r.stderr, token)
	cfg, err := os.Stat(filepath.Join(c.home, "config", "config.yaml"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), cfg.Mode().Perm())

	r = c.ok("-o", "json", "runtime", "copy", fixtureName+"/version/latest", s.url+"/project/self")
	var res struct {
		Tags   []string `json:"tags"`
		Copied int      `json:"copied"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	assert.Equal(t, []string{"v0", "latest", "prod"}, res.Tags)
	assert.Greater(t, res.Copied, 0)
	// Again: no blob moves.
	r = c.ok("-o", "json", "runtime", "copy", fixtureName+"/version/latest", "cloud://dev/project/self")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	assert.Equal(t, 0, res.Copied)

	// list, history, info of the cloud.
	assert.Contains(t, c.ok("runtime", "list", "dev/project/self").stdout, fixtureName)
	assert.Contains(t, c.ok("runtime", "history", "cloud://dev/project/self/runtime/"+fixtureName).stdout, "prod")
	c.ok("runtime", "info", s.url+"/project/self/runtime/"+fixtureName+"/version/v0")
	c.ok("runtime", "tag", "dev/project/self/runtime/"+fixtureName+"/version/v0", "stable")
	c.ok("runtime", "tag", "--remove", "dev/project/self/runtime/"+fixtureName+"/version/v0", "stable")

	// Another machine: pull both ways the block shows, then restore.
	c2 := newCLI(t)
	c2.ok("instance", "login", s.url, "--alias", "dev", "--token", token)
	c2.ok("runtime", "copy", s.url+"/project/self/runtime/"+fixtureName+"/version/latest", "local/project/self")
	r = c2.ok("-o", "json", "runtime", "copy", "cloud://dev/project/self/runtime/"+fixtureName+"/version/v0", "local/project/self")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	assert.Equal(t, 0, res.Copied)
	assert.Contains(t, c2.ok("runtime", "history", fixtureName).stdout, "prod")
	c2.ok("runtime", "restore", fixtureName+"/version/latest")

	// A third: run straight from the cloud (pulled into the store first).
	c3 := newCLI(t)
	c3.ok("instance", "login", s.url, "--alias", "dev", "--token", token)
	r = c3.ok("--verbose", "runtime", "run", "dev/project/self/runtime/"+fixtureName+"/version/prod", "--", "python", "-c", "print('hi')")
	assert.Contains(t, r.stdout, "hi")
	// Pull and restore overlap: the env layers were unpacked as they
	// arrived, so the restore unpacked none of them itself.
	assert.Contains(t, r.stderr, "layer unpacked during the pull")
	assert.NotContains(t, r.stderr, "layer unpacked into the layer cache")
	assert.Contains(t, c3.ok("runtime", "history", fixtureName).stdout, "prod")

	// Admin commands.
	r = c.ok("-o", "json", "user", "create", "bob", "--instance", "dev")
	var bob struct{ Name, Token string }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &bob))
	assert.Equal(t, "bob", bob.Name)
	assert.NotEmpty(t, bob.Token)
	c.ok("instance", "select", "dev")
	c.ok("project", "create", "dev/project/team")
	c.ok("project", "member", "add", "project/team", "bob", "--role", "guest")
	r = c.ok("-o", "json", "project", "info", "dev/project/team")
	assert.Contains(t, r.stdout, `"bob"`)
	assert.Contains(t, c.ok("project", "list").stdout, "team")
	r = c.ok("-o", "json", "user", "token", "list")
	assert.NotContains(t, r.stdout, token)
	c.ok("project", "member", "remove", "project/team", "bob")
	r = c.ok("instance", "list")
	assert.Contains(t, r.stdout, "dev")
	assert.NotContains(t, r.stdout, token)
	assert.NotContains(t, c.ok("-o", "json", "instance", "info").stdout, token)

	// Bad inputs: one line, non-zero, nothing changed.
	before := c.ok("-o", "json", "runtime", "history", "dev/project/self/runtime/"+fixtureName).stdout
	for _, tc := range []struct {
		want []string
		args []string
	}{
		{[]string{"credentials were refused"}, []string{"instance", "login", s.url, "--alias", "x", "--token", "swt_wrong"}},
		{[]string{"cannot reach"}, []string{"instance", "login", "http://127.0.0.1:1", "--alias", "x", "--token", token}},
		{[]string{"not a server URL"}, []string{"instance", "login", "ftp://x", "--alias", "x", "--token", token}},
		{[]string{"instance nope is not known"}, []string{"runtime", "copy", fixtureName, "cloud://nope/project/self"}},
		{[]string{"project nope not found"}, []string{"runtime", "copy", fixtureName, "dev/project/nope"}},
		{[]string{"v9"}, []string{"runtime", "copy", "dev/project/self/runtime/" + fixtureName + "/version/v9", "local/project/self"}},
	} {
		out := c.fail(tc.want, tc.args...)
		assert.NotContains(t, out, token)
	}
	assert.Equal(t, before, c.ok("-o", "json", "runtime", "history", "dev/project/self/runtime/"+fixtureName).stdout)
	assert.NotContains(t, s.stderr(), token)
	c.ok("instance", "logout", "dev")
	c.fail([]string{"instance dev is not known"}, "runtime", "list", "dev/project/self")
}

// TestCloudCopyResumesAfterKill kills a push in the middle of a blob (kill
// -9 at the 40th chunk sent, inside the environment layer) and runs it again: no version was visible
// before, and the re-run sends less than the whole version because the
// killed blob resumes where its saved upload session ended.
func TestCloudCopyResumesAfterKill(t *testing.T) {
	fix := sharedRuntime(t)
	c := newCLI(t)
	c.ok("runtime", "build", fix.wd)
	srv := newCLI(t)
	data := filepath.Join(srv.home, "srv")
	s := startServer(t, srv, data)
	tok, err := os.ReadFile(filepath.Join(data, "admin.token"))
	require.NoError(t, err)
	c.ok("instance", "login", s.url, "--alias", "dev", "--token", strings.TrimSpace(string(tok)))
	var hist []struct {
		Size int64 `json:"size"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.ok("-o", "json", "runtime", "history", fixtureName).stdout), &hist))
	require.Len(t, hist, 1)
	const chunk = 16 << 10
	c.setenv("SWCLI_TEST_CHUNK_SIZE=16384")
	stKilledAt(t, c, "copy bytes#40", "runtime", "copy", fixtureName, "dev/project/self")
	c.fail([]string{"has no runtime"}, "runtime", "info", "dev/project/self/runtime/"+fixtureName+"/version/latest")

	r := c.ok("-o", "json", "runtime", "copy", fixtureName, "dev/project/self")
	var res struct {
		Tags        []string `json:"tags"`
		BytesCopied int64    `json:"bytes_copied"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	t.Logf("version %d bytes; the re-run sent %d", hist[0].Size, res.BytesCopied)
	assert.LessOrEqual(t, res.BytesCopied, hist[0].Size-20*chunk, "the killed blob resumed: what was sent before the kill was not sent again")
	assert.Equal(t, []string{"v0", "latest"}, res.Tags)

	// What arrived is whole: a fresh machine pulls and runs it.
	c2 := newCLI(t)
	c2.ok("instance", "login", s.url, "--alias", "dev", "--token", strings.TrimSpace(string(tok)))
	assert.Contains(t, c2.ok("runtime", "run", "dev/project/self/runtime/"+fixtureName, "--", "python", "-c", "print('whole')").stdout, "whole")
}

// startCNCFRegistry runs the CNCF distribution registry on 127.0.0.1 (a
// free port, storage in a temporary folder) and gives host:port; it skips
// when the registry is not installed.
func startCNCFRegistry(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(os.Getenv("HOME"), "go", "bin", "registry")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("the CNCF registry is not installed at %s (go install github.com/distribution/distribution/v3/cmd/registry@v3.1.2)", bin)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	require.NoError(t, os.WriteFile(cfg, []byte("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: "+
		filepath.Join(dir, "data")+"\nhttp:\n  addr: "+addr+"\n"), 0o644))
	cmd := exec.Command(bin, "serve", cfg)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; i < 200; i++ {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			return addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the registry did not start")
	return ""
}

// TestOCIRegistryAnyRepository: `runtime copy` to and from
// oci://HOST:PORT/REPO:TAG with a repository three deep, against the real
// CNCF registry; oras lists and fetches what swcli pushed; another machine
// runs the version straight from the registry; bad references are one line.
func TestOCIRegistryAnyRepository(t *testing.T) {
	fix := sharedRuntime(t)
	addr := startCNCFRegistry(t)
	c := newCLI(t)
	c.setenv("DOCKER_CONFIG=" + filepath.Join(c.home, "docker"))
	c.ok("runtime", "build", "-t", "prod", fix.wd)
	ref := "oci://" + addr + "/team/envs/" + fixtureName + ":v1"
	r := c.ok("-o", "json", "runtime", "copy", fixtureName, ref)
	var res struct {
		Tags   []string `json:"tags"`
		Copied int      `json:"copied"`
		Digest string   `json:"digest"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	assert.Equal(t, []string{"v1", "latest", "prod"}, res.Tags)
	assert.Greater(t, res.Copied, 1)
	assert.Contains(t, c.ok("runtime", "copy", fixtureName, ref).stdout, "oci://"+addr+"/team/envs/"+fixtureName+"@sha256:")
	uploads, _ := filepath.Glob(filepath.Join(c.home, "storage", "uploads", "*"))
	assert.Empty(t, uploads, "no upload state is left after a complete copy")

	oras := filepath.Join(os.Getenv("HOME"), "go", "bin", "oras")
	out, err := exec.Command(oras, "repo", "tags", "--plain-http", addr+"/team/envs/"+fixtureName).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.ElementsMatch(t, []string{"v1", "latest", "prod"}, strings.Fields(string(out)))
	out, err = exec.Command(oras, "repo", "ls", "--plain-http", addr+"/team").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "envs/"+fixtureName)
	// oras copies the manifest and every blob into an OCI layout.
	layout := t.TempDir()
	out, err = exec.Command(oras, "copy", "--from-plain-http", addr+"/team/envs/"+fixtureName+":prod", "--to-oci-layout", layout+":prod").CombinedOutput()
	require.NoError(t, err, string(out))
	blobs, err := os.ReadDir(filepath.Join(layout, "blobs", "sha256"))
	require.NoError(t, err)
	assert.Equal(t, res.Copied+1, len(blobs), "the manifest, the config and every layer")
	_, err = os.Stat(filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(res.Digest, "sha256:")))
	assert.NoError(t, err)
	assert.Contains(t, c.ok("runtime", "history", "oci://"+addr+"/team/envs/"+fixtureName).stdout, "prod")

	// Another machine runs it straight from the registry (pulled into its
	// store first, under the repository's last component), then copies it back.
	c2 := newCLI(t)
	c2.setenv("DOCKER_CONFIG=" + filepath.Join(c2.home, "docker"))
	assert.Contains(t, c2.ok("runtime", "run", ref, "--", "python", "-c", "print('from oci')").stdout, "from oci")
	assert.Contains(t, c2.ok("runtime", "history", fixtureName).stdout, res.Digest[len("sha256:"):][:12])
	r = c2.ok("-o", "json", "runtime", "copy", "oci://"+addr+"/team/envs/"+fixtureName+"@"+res.Digest, "local/project/self")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	assert.Equal(t, 0, res.Copied)

	for _, tc := range []struct {
		want []string
		args []string
	}{
		{[]string{`"Team" is not an OCI repository component`}, []string{"runtime", "copy", fixtureName, "oci://" + addr + "/Team/x"}},
		{[]string{"is not a digest"}, []string{"runtime", "copy", "oci://" + addr + "/team/x@sha256:12", "local/project/self"}},
		{[]string{"team/envs/nope", "not found"}, []string{"runtime", "copy", "oci://" + addr + "/team/envs/nope:v1", "local/project/self"}},
		{[]string{"cannot reach"}, []string{"runtime", "copy", fixtureName, "oci://127.0.0.1:9/team/x:v1"}},
	} {
		c2.fail(tc.want, tc.args...)
	}
}

// The shipped swcli has no test hooks: only the test build reads the
// SWCLI_TEST_* variables.
func TestCloudShippedBinaryHasNoTestHooks(t *testing.T) {
	for bin, want := range map[string]bool{testbin.Shipped(t): false, testbin.SWCLI(t): true} {
		data, err := os.ReadFile(bin)
		require.NoError(t, err)
		for _, hook := range []string{"SWCLI_TEST_KILL_AT", "SWCLI_TEST_CHUNK_SIZE"} {
			assert.Equal(t, want, bytes.Contains(data, []byte(hook)), "%s in %s", hook, bin)
		}
	}
}
