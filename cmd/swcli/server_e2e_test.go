package main_test

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runningServer is `swcli server start` running in the background.
type runningServer struct {
	t    *testing.T
	url  string
	done chan int // exit code
	mu   sync.Mutex
	log  strings.Builder
	cmd  interface{ Signal(os.Signal) error }
}

func (s *runningServer) stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

var listeningRE = regexp.MustCompile(`listening: addr=(127\.0\.0\.1:[0-9]+)`)

// startServer runs `swcli server start --listen 127.0.0.1:0 --data DIR` and
// waits for the address it logs.
func startServer(t *testing.T, c *cli, data string) *runningServer {
	t.Helper()
	return startServerWith(t, c, "--data", data)
}

// startServerWith runs `swcli server start --listen 127.0.0.1:0 ARGS...`
// and waits for the address it logs.
func startServerWith(t *testing.T, c *cli, args ...string) *runningServer {
	t.Helper()
	cmd := c.command(append([]string{"server", "start", "--listen", "127.0.0.1:0"}, args...)...)
	pipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	s := &runningServer{t: t, done: make(chan int, 1), cmd: cmd.Process}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
		err := cmd.Wait()
		code := 0
		if ee, ok := err.(interface{ ExitCode() int }); ok && err != nil {
			code = ee.ExitCode()
		}
		s.done <- code
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case a := <-addr:
		s.url = "http://" + a
	case code := <-s.done:
		t.Fatalf("swcli server start exited %d:\n%s", code, s.stderr())
	case <-time.After(60 * time.Second):
		t.Fatalf("swcli server start never listened:\n%s", s.stderr())
	}
	return s
}

// stop sends SIGTERM and returns the exit code.
func (s *runningServer) stop() int {
	require.NoError(s.t, s.cmd.Signal(syscall.SIGTERM))
	select {
	case code := <-s.done:
		return code
	case <-time.After(60 * time.Second):
		s.t.Fatalf("swcli server did not stop on SIGTERM:\n%s", s.stderr())
		return -1
	}
}

func (s *runningServer) call(token, method, path, body string) (int, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	require.NoError(s.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	return resp.StatusCode, string(b)
}

func TestServerStart(t *testing.T) {
	c := newCLI(t)
	data := filepath.Join(c.home, "srv")
	srv := startServer(t, c, data)

	tokenFile := filepath.Join(data, "admin.token")
	fi, err := os.Stat(tokenFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "admin.token is private")
	raw, err := os.ReadFile(tokenFile)
	require.NoError(t, err)
	token := strings.TrimSpace(string(raw))
	require.NotEmpty(t, token)

	st, body := srv.call(token, "GET", "/api/v1/whoami", "")
	require.Equal(t, 200, st, body)
	assert.JSONEq(t, `{"user":"admin","admin":true}`, body)
	st, body = srv.call(token, "GET", "/api/v1/projects/self", "")
	require.Equal(t, 200, st, "project self exists: %s", body)
	st, body = srv.call(token, "POST", "/api/v1/projects", `{"name":"team"}`)
	require.Equal(t, 201, st, body)
	st, body = srv.call("", "GET", "/api/v1/projects/self", "")
	assert.Equal(t, 401, st, body)

	require.Equal(t, 0, srv.stop(), "SIGTERM is a clean exit:\n%s", srv.stderr())
	log := srv.stderr()
	assert.Contains(t, log, tokenFile, "the log says where the token is")
	assert.Contains(t, log, "path=/api/v1/whoami status=200")
	assert.Contains(t, log, "stopped")
	assert.NotContains(t, log, token, "never the token itself")

	// Everything lives in the store: a restart keeps the admin, its token
	// and the project, and writes no new token.
	srv = startServer(t, c, data)
	again, err := os.ReadFile(tokenFile)
	require.NoError(t, err)
	assert.Equal(t, raw, again)
	st, body = srv.call(token, "GET", "/api/v1/projects/team", "")
	assert.Equal(t, 200, st, body)
	require.Equal(t, 0, srv.stop(), srv.stderr())
}

func TestServerStartWithAdminTokenFromEnvironment(t *testing.T) {
	c := newCLI(t)
	const token = "swt_from-the-environment-0123456789"
	c.setenv("SW_SERVER_ADMIN_TOKEN=" + token)
	data := filepath.Join(c.home, "srv")
	srv := startServer(t, c, data)
	_, err := os.Stat(filepath.Join(data, "admin.token"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	st, body := srv.call(token, "GET", "/api/v1/whoami", "")
	assert.Equal(t, 200, st, body)
	require.Equal(t, 0, srv.stop(), srv.stderr())
	assert.NotContains(t, srv.stderr(), token)
}

func TestServerStartBadInput(t *testing.T) {
	c := newCLI(t)
	data := filepath.Join(c.home, "srv")
	c.fail([]string{"data"}, "server", "start", "--listen", "127.0.0.1:0")
	c.fail([]string{"--tls-cert", "--tls-key"}, "server", "start", "--listen", "127.0.0.1:0", "--data", data, "--tls-cert", filepath.Join(c.home, "cert.pem"))
	c.fail([]string{"TLS certificate", "cert.pem"}, "server", "start", "--listen", "127.0.0.1:0", "--data", data,
		"--tls-cert", filepath.Join(c.home, "cert.pem"), "--tls-key", filepath.Join(c.home, "key.pem"))
	c.fail([]string{"listen on 127.0.0.1:99999"}, "server", "start", "--listen", "127.0.0.1:99999", "--data", data)
	c.fail([]string{"takes no arguments"}, "server", "start", "extra", "--data", data)
	c.fail([]string{"--auth-cache-ttl -1s", "0 (off) or more"}, "server", "start", "--listen", "127.0.0.1:0", "--data", data, "--auth-cache-ttl", "-1s")
}
