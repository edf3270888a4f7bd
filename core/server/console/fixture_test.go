package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/server"
	"github.com/swcli/swcli/core/server/auth"
	"github.com/swcli/swcli/core/server/console"
	"github.com/swcli/swcli/core/server/console/consoletest"
	"github.com/swcli/swcli/core/store"
)

var ctx = context.Background()

const password = "correct horse 42"

// evilYAML is the runtime.yaml of proj/evil: markup that must stay text.
const evilYAML = "name: evil\nmode: venv\n# </pre><script>window.pwned=1</script><img src=x id=injected>\n"

// evilPackage is a locked package of proj/evil whose name is markup.
const evilPackage = `<b id="injected-pkg">x</b>`

// fixture is a server with the console over a fresh store:
//   - admin (admin), olive (owner of proj and pub), mike (maintainer of
//     proj), gus (guest of proj), otto (owner of secret only); every user
//     but admin has the password above;
//   - proj (private): runtime rt with v0 (tag stable), v1 (latest; one
//     package changed, one added, one removed, Python 3.12) and runtime
//     evil; pub (public): runtime hello; secret (private): runtime hidden.
type fixture struct {
	t     *testing.T
	url   string
	acc   *auth.Auth
	reg   *registry.Registry
	clock *clock
	st    *store.FS
	v0    registry.Version
	v1    registry.Version
}

type clock struct {
	mu sync.Mutex
	at time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.at }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.at = c.at.Add(d)
	c.mu.Unlock()
}

func newFixture(t *testing.T, tlsServer bool) *fixture {
	t.Helper()
	st, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	// The auth clock starts now and only moves when a test says so; the
	// console's own clock (session expiry) is the real one.
	clk := &clock{at: time.Now().UTC()}
	acc, err := auth.New(st, auth.WithBcryptCost(bcrypt.MinCost), auth.WithClock(clk.now))
	require.NoError(t, err)
	reg := registry.New(st)
	f := &fixture{t: t, acc: acc, reg: reg, clock: clk, st: st}
	con, err := console.New(console.Config{Accounts: acc, Registry: reg})
	require.NoError(t, err)
	srv, err := server.New(server.Config{Accounts: acc, Registry: reg, Console: con, AdminToken: "swt_admin-0123456789abcdef"})
	require.NoError(t, err)
	require.NoError(t, srv.Bootstrap(ctx))
	require.NoError(t, acc.SetPassword(ctx, "admin", password))
	for _, u := range []string{"olive", "mike", "gus", "otto"} {
		_, _, err := acc.CreateUser(ctx, u, false, password)
		require.NoError(t, err)
	}
	for _, p := range []struct {
		name, owner string
		public      bool
	}{{"proj", "olive", false}, {"pub", "olive", true}, {"secret", "otto", false}} {
		_, err := acc.CreateProject(ctx, p.name, p.owner, p.public)
		require.NoError(t, err)
	}
	for _, m := range []struct {
		user string
		role server.Role
	}{{"mike", server.RoleMaintainer}, {"gus", server.RoleGuest}} {
		_, err := acc.SetMember(ctx, "proj", m.user, m.role)
		require.NoError(t, err)
	}
	b := &consoletest.Builder{Reg: reg, Dir: t.TempDir()}
	pkgs := []mode.LockedPackage{
		{Name: "numpy", Version: "1.26.4", Installer: "pip", Hashes: []string{"sha256:" + strings.Repeat("a", 64)}},
		{Name: "requests", Version: "2.31.0", Installer: "pip"},
		{Name: "old-thing", Version: "0.1", Installer: "pip"},
	}
	f.v0, err = b.Build(ctx, consoletest.Runtime{Project: "proj", Name: "rt", YAML: "name: rt\nmode: venv\n", Packages: pkgs, Tags: []string{"stable"}})
	require.NoError(t, err)
	pkgs1 := []mode.LockedPackage{pkgs[0],
		{Name: "requests", Version: "2.32.3", Installer: "pip"},
		{Name: "torch-lite", Version: "0.9", Installer: "pip", Source: "wheels/torch_lite-0.9-py3-none-any.whl"},
	}
	f.v1, err = b.Build(ctx, consoletest.Runtime{Project: "proj", Name: "rt", YAML: "name: rt\nmode: venv\npython_version: '3.12'\n", Python: "3.12.1", Packages: pkgs1})
	require.NoError(t, err)
	_, err = b.Build(ctx, consoletest.Runtime{Project: "proj", Name: "evil", YAML: evilYAML,
		Packages: []mode.LockedPackage{{Name: evilPackage, Version: "1", Installer: "pip", Source: `"><script>window.pwned=2</script>`}}})
	require.NoError(t, err)
	_, err = b.Build(ctx, consoletest.Runtime{Project: "pub", Name: "hello", YAML: "name: hello\n", Packages: pkgs[:1]})
	require.NoError(t, err)
	_, err = b.Build(ctx, consoletest.Runtime{Project: "secret", Name: "hidden", YAML: "name: hidden\n", Packages: pkgs[:1]})
	require.NoError(t, err)

	var hs *httptest.Server
	if tlsServer {
		hs = httptest.NewTLSServer(srv)
	} else {
		hs = httptest.NewServer(srv)
	}
	t.Cleanup(hs.Close)
	f.url = hs.URL
	return f
}

// secondServer starts another server with its own console, Accounts and
// Registry over the same store, as a second server behind a load balancer,
// and returns its URL.
func (f *fixture) secondServer() string {
	f.t.Helper()
	acc, err := auth.New(f.st, auth.WithBcryptCost(bcrypt.MinCost), auth.WithClock(f.clock.now))
	require.NoError(f.t, err)
	reg := registry.New(f.st)
	con, err := console.New(console.Config{Accounts: acc, Registry: reg})
	require.NoError(f.t, err)
	srv, err := server.New(server.Config{Accounts: acc, Registry: reg, Console: con})
	require.NoError(f.t, err)
	hs := httptest.NewServer(srv)
	f.t.Cleanup(hs.Close)
	return hs.URL
}

// client is a browser-like HTTP client with its own cookies that does not
// follow redirects (so tests see each status).
type client struct {
	f   *fixture
	hc  *http.Client
	jar *cookiejar.Jar
}

func (f *fixture) client() *client {
	jar, err := cookiejar.New(nil)
	require.NoError(f.t, err)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if strings.HasPrefix(f.url, "https:") {
		hc.Transport = &http.Transport{TLSClientConfig: insecureTLS()}
	}
	return &client{f: f, hc: hc, jar: jar}
}

type response struct {
	status int
	body   string
	header http.Header
}

func (c *client) get(path string) response {
	c.f.t.Helper()
	resp, err := c.hc.Get(c.f.url + path)
	require.NoError(c.f.t, err)
	return read(c.f.t, resp)
}

func (c *client) post(path string, form url.Values) response {
	c.f.t.Helper()
	resp, err := c.hc.PostForm(c.f.url+path, form)
	require.NoError(c.f.t, err)
	return read(c.f.t, resp)
}

func read(t *testing.T, resp *http.Response) response {
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, body: string(data), header: resp.Header}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// csrf reads the CSRF token from a page's first form.
func (c *client) csrf(path string) string {
	c.f.t.Helper()
	r := c.get(path)
	m := csrfRE.FindStringSubmatch(r.body)
	require.NotNil(c.f.t, m, "no csrf field on %s (status %d)", path, r.status)
	return m[1]
}

// login signs in with a password and returns the answer to the POST.
func (c *client) login(user, pass string) response {
	c.f.t.Helper()
	return c.post("/login", url.Values{"csrf": {c.csrf("/login")}, "username": {user}, "password": {pass}})
}

func (f *fixture) signedIn(user string) *client {
	f.t.Helper()
	c := f.client()
	r := c.login(user, password)
	require.Equal(f.t, http.StatusSeeOther, r.status, r.body)
	return c
}

func (f *fixture) tags(project, name, ref string) []string {
	f.t.Helper()
	v, err := f.reg.Resolve(ctx, project, name, ref, registry.IncludeRemoved())
	require.NoError(f.t, err)
	return v.Tags
}
