package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	r = c3.ok("runtime", "run", "dev/project/self/runtime/"+fixtureName+"/version/prod", "--", "python", "-c", "print('hi')")
	assert.Contains(t, r.stdout, "hi")
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
