package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/server"
	"github.com/swcli/swcli/core/server/auth"
)

// syncBuffer is a log sink safe to read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newServer returns a server over a fresh store with cfg's V2, Grace and
// AdminToken, its data folder and its log.
func newServer(t *testing.T, cfg server.Config) (*server.Server, *auth.Auth, string, *syncBuffer) {
	t.Helper()
	dir := t.TempDir()
	st := newStoreIn(t, dir)
	acc, err := auth.New(st, auth.WithBcryptCost(bcrypt.MinCost))
	require.NoError(t, err)
	logs := &syncBuffer{}
	cfg.Accounts, cfg.Registry, cfg.DataDir = acc, registry.New(st), dir
	cfg.Log = hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Info})
	srv, err := server.New(cfg)
	require.NoError(t, err)
	return srv, acc, dir, logs
}

func TestBootstrapWritesAdminToken(t *testing.T) {
	srv, acc, dir, logs := newServer(t, server.Config{})
	require.NoError(t, srv.Bootstrap(ctx))
	path := filepath.Join(dir, server.AdminTokenFile)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	tok := strings.TrimSpace(string(data))
	req, _ := http.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	p, err := acc.Authenticate(req)
	require.NoError(t, err)
	assert.Equal(t, server.Principal{User: "admin", Admin: true}, p)
	assert.Contains(t, logs.String(), path, "the log says where the token is")
	assert.NotContains(t, logs.String(), tok, "and never the token")

	// A restart changes nothing and leaves no temporary file.
	require.NoError(t, srv.Bootstrap(ctx))
	again, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, data, again)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, dataFiles(), names)
}

func TestBootstrapWithTokenFromEnvironment(t *testing.T) {
	const tok = "swt_chosen-by-the-operator-0123"
	srv, acc, dir, logs := newServer(t, server.Config{AdminToken: tok})
	require.NoError(t, srv.Bootstrap(ctx))
	_, err := os.Stat(filepath.Join(dir, server.AdminTokenFile))
	assert.ErrorIs(t, err, os.ErrNotExist, "no admin.token when the token is given")
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth("admin", tok)
	p, err := acc.Authenticate(req)
	require.NoError(t, err)
	assert.True(t, p.Admin)
	assert.NotContains(t, logs.String(), tok)
}

// The request log has method, path, status, bytes, duration and user, and
// never a credential (header, password or token in the query).
func TestRequestLogHasNoCredentials(t *testing.T) {
	const tok = "swt_log-test-token-0123456789abcdef"
	srv, acc, _, logs := newServer(t, server.Config{AdminToken: tok})
	require.NoError(t, srv.Bootstrap(ctx))
	_, _, err := acc.CreateUser(ctx, "alice", false, "a long password")
	require.NoError(t, err)
	hs := newHTTPTest(t, srv)
	req, _ := http.NewRequest("GET", hs+"/api/v1/whoami?token="+tok, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	req, _ = http.NewRequest("GET", hs+"/api/v1/projects", nil)
	req.SetBasicAuth("alice", "wrong password!")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 401, resp.StatusCode)

	out := logs.String()
	assert.Contains(t, out, "method=GET path=/api/v1/whoami status=200")
	assert.Contains(t, out, "user=admin")
	assert.Contains(t, out, "duration=")
	assert.Contains(t, out, "status=401")
	for _, secret := range []string{tok, "log-test-token", "wrong password", "Bearer", "Basic"} {
		assert.NotContains(t, out, secret)
	}
}

func newHTTPTest(t *testing.T, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: h}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	return "http://" + ln.Addr().String()
}

// slowV2 is a /v2 handler that holds each request until released.
type slowV2 struct {
	entered chan struct{}
	release chan struct{}
}

func (s *slowV2) handler(acc server.Access) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.entered <- struct{}{}
		<-s.release
		_, _ = io.WriteString(w, "finished")
	})
}

// start runs Serve on a fresh loopback listener and returns its address
// and the channel Serve's result arrives on.
func start(t *testing.T, ctx context.Context, srv *server.Server, files server.TLSFiles) (string, chan error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, files) }()
	return ln.Addr().String(), done
}

// waitClosed waits until addr refuses connections (the listener is shut).
func waitClosed(t *testing.T, addr string) {
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		c.Close()
		require.Less(t, i, 1000, "listener still open")
		time.Sleep(5 * time.Millisecond)
	}
}

// A shutdown lets an in-flight request finish, then Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	slow := &slowV2{entered: make(chan struct{}), release: make(chan struct{})}
	srv, _, _, logs := newServer(t, server.Config{V2: slow.handler})
	sctx, stop := context.WithCancel(ctx)
	addr, done := start(t, sctx, srv, server.TLSFiles{})

	type result struct {
		status int
		body   string
		err    error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{resp.StatusCode, string(b), err}
	}()
	<-slow.entered
	stop()              // SIGTERM, as cmd/swcli delivers it
	waitClosed(t, addr) // no new connections...
	close(slow.release) // ...while the old request finishes
	r := <-got
	require.NoError(t, r.err)
	assert.Equal(t, 200, r.status)
	assert.Equal(t, "finished", r.body)
	require.NoError(t, <-done)
	assert.Contains(t, logs.String(), "stopped")
}

// A request that outlasts the grace period is cut off, and Serve says so.
func TestShutdownGraceExceeded(t *testing.T) {
	slow := &slowV2{entered: make(chan struct{}), release: make(chan struct{})}
	defer close(slow.release)
	srv, _, _, _ := newServer(t, server.Config{V2: slow.handler, Grace: 20 * time.Millisecond})
	sctx, stop := context.WithCancel(ctx)
	addr, done := start(t, sctx, srv, server.TLSFiles{})
	go func() {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-slow.entered
	stop()
	err := <-done
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cut off")
}

func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	const tok = "swt_tls-test-token-0123456789abcdef"
	srv, _, _, _ := newServer(t, server.Config{AdminToken: tok})
	require.NoError(t, srv.Bootstrap(ctx))
	sctx, stop := context.WithCancel(ctx)
	addr, done := start(t, sctx, srv, server.TLSFiles{Cert: certFile, Key: keyFile})

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("GET", "https://"+addr+"/api/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode, string(b))
	client.CloseIdleConnections()
	stop()
	require.NoError(t, <-done)

	// Half a pair, or a bad one: one clear error, nothing served.
	err = srv.ListenAndServe(ctx, "127.0.0.1:0", server.TLSFiles{Cert: certFile})
	require.ErrorContains(t, err, "both a certificate and a key")
	err = srv.ListenAndServe(ctx, "127.0.0.1:0", server.TLSFiles{Cert: keyFile, Key: certFile})
	require.ErrorContains(t, err, "TLS certificate")
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// Two servers over one store are one instance: a user created through one
// signs in on the other at once, with a token or a password, and a token
// revoked on one stops working on the other.
func TestTwoServersOneStore(t *testing.T) {
	dir := t.TempDir()
	st := newStoreIn(t, dir)
	const admin = "swt_two-servers-admin-0123456789"
	var urls []string
	for i := 0; i < 2; i++ {
		acc, err := auth.New(st, auth.WithBcryptCost(bcrypt.MinCost))
		require.NoError(t, err)
		srv, err := server.New(server.Config{Accounts: acc, Registry: registry.New(st), DataDir: dir, AdminToken: admin})
		require.NoError(t, err)
		require.NoError(t, srv.Bootstrap(ctx))
		urls = append(urls, newHTTPTest(t, srv))
	}
	do := func(url, method, path, body string, auth func(*http.Request)) (int, string) {
		req, err := http.NewRequest(method, url+path, strings.NewReader(body))
		require.NoError(t, err)
		auth(req)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	st1, body := do(urls[0], "POST", "/api/v1/users", `{"name":"bob","password":"bob's password"}`, bearer(admin))
	require.Equal(t, 201, st1, body)
	var created struct{ Token string }
	require.NoError(t, jsonUnmarshal(body, &created))

	st1, body = do(urls[1], "GET", "/api/v1/whoami", "", bearer(created.Token))
	assert.Equal(t, 200, st1, body)
	st1, body = do(urls[1], "GET", "/api/v1/whoami", "", func(r *http.Request) { r.SetBasicAuth("bob", "bob's password") })
	assert.Equal(t, 200, st1, body)
	st1, body = do(urls[1], "GET", "/api/v1/whoami", "", func(r *http.Request) { r.SetBasicAuth("anyone", created.Token) })
	assert.Equal(t, 200, st1, body)

	st1, body = do(urls[1], "GET", "/api/v1/tokens", "", bearer(created.Token))
	require.Equal(t, 200, st1, body)
	var toks []server.Token
	require.NoError(t, jsonUnmarshal(body, &toks))
	require.Len(t, toks, 1)
	st1, body = do(urls[1], "DELETE", "/api/v1/tokens/"+toks[0].ID, "", bearer(created.Token))
	require.Equal(t, 204, st1, body)
	st1, body = do(urls[0], "GET", "/api/v1/whoami", "", bearer(created.Token))
	assert.Equal(t, 401, st1, "revoked on the other server: %s", body)
}

// Two servers starting at once on one empty store and data folder create
// one admin and one admin.token, and that token works.
func TestConcurrentBootstrap(t *testing.T) {
	dir := t.TempDir()
	st := newStoreIn(t, dir)
	var (
		accs []*auth.Auth
		srvs []*server.Server
	)
	for i := 0; i < 4; i++ {
		acc, err := auth.New(st, auth.WithBcryptCost(bcrypt.MinCost))
		require.NoError(t, err)
		srv, err := server.New(server.Config{Accounts: acc, Registry: registry.New(st), DataDir: dir})
		require.NoError(t, err)
		accs, srvs = append(accs, acc), append(srvs, srv)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(srvs))
	for i, srv := range srvs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = srv.Bootstrap(ctx) }()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	users, err := accs[0].ListUsers(ctx)
	require.NoError(t, err)
	require.Len(t, users, 1)
	data, err := os.ReadFile(filepath.Join(dir, server.AdminTokenFile))
	require.NoError(t, err)
	req, _ := http.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(data)))
	p, err := accs[3].Authenticate(req)
	require.NoError(t, err)
	assert.True(t, p.Admin)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, len(dataFiles()), "store and admin.token, no temporary files")
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
