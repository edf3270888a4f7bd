package console_test

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/bundle"
)

func TestEveryPageSendsCSPAndSecurityHeaders(t *testing.T) {
	f := newFixture(t, false)
	anon, olive := f.client(), f.signedIn("olive")
	for _, c := range []struct {
		who  *client
		path string
		want int
	}{
		{anon, "/login", 200}, {anon, "/projects", 200}, {anon, "/projects/pub", 200}, {anon, "/projects/proj", 404},
		{anon, "/static/console.css", 200}, {anon, "/nowhere", 404},
		{olive, "/projects", 200}, {olive, "/projects/proj", 200}, {olive, "/projects/proj/runtimes/rt", 200},
		{olive, "/projects/proj/runtimes/rt/versions/v0", 200}, {olive, "/projects/proj/runtimes/rt/compare?a=v0&b=v1", 200},
		{olive, "/projects/proj/members", 200}, {olive, "/tokens", 200}, {olive, "/users", 404}, {olive, "/logout", 200},
	} {
		r := c.who.get(c.path)
		assert.Equal(t, c.want, r.status, c.path)
		csp := r.header.Get("Content-Security-Policy")
		assert.Contains(t, csp, "script-src 'self'", c.path)
		assert.Contains(t, csp, "default-src 'none'", c.path)
		assert.NotContains(t, csp, "unsafe-inline", c.path)
		assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"), c.path)
		if strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			assert.NotContains(t, r.body, "<script>", c.path+": inline script")
			assert.NotContains(t, r.body, " style=", c.path+": inline style")
			assert.Contains(t, r.body, `<meta name="viewport"`, c.path)
		}
	}
}

func sessionCookie(t *testing.T, r response) *http.Cookie {
	t.Helper()
	for _, line := range r.header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		require.NoError(t, err)
		if ck.Name == "sw_session" && ck.Value != "" {
			return ck
		}
	}
	return nil
}

func TestSignInCookieFlags(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		f := newFixture(t, tlsOn)
		c := f.client()
		r := c.login("olive", password)
		require.Equal(t, http.StatusSeeOther, r.status, r.body)
		assert.Equal(t, "/projects", r.header.Get("Location"))
		ck := sessionCookie(t, r)
		require.NotNil(t, ck)
		assert.True(t, ck.HttpOnly)
		assert.Equal(t, http.SameSiteStrictMode, ck.SameSite)
		assert.Equal(t, tlsOn, ck.Secure, "Secure exactly when TLS")
		assert.True(t, ck.Expires.After(time.Now().Add(11*time.Hour)) && ck.Expires.Before(time.Now().Add(13*time.Hour)), ck.Expires)
		assert.Contains(t, c.get("/projects").body, `id="whoami">olive<`)
		// the session is a token named console, listed on /tokens
		toks, err := f.acc.ListTokens(ctx, "olive")
		require.NoError(t, err)
		require.Len(t, toks, 2) // "default" and the session
		assert.ElementsMatch(t, []string{"default", "console"}, []string{toks[0].Name, toks[1].Name})
	}
}

func TestSignInWithTokenAndNext(t *testing.T) {
	f := newFixture(t, false)
	_, tok, err := f.acc.CreateToken(ctx, "gus", "laptop", time.Time{})
	require.NoError(t, err)
	c := f.client()
	r := c.post("/login", url.Values{"csrf": {c.csrf("/login")}, "token": {tok}, "next": {"/projects/proj"}})
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	assert.Equal(t, "/projects/proj", r.header.Get("Location"))
	assert.Equal(t, 200, c.get("/projects/proj").status)
	// an address elsewhere is never followed
	c2 := f.client()
	r = c2.post("/login", url.Values{"csrf": {c2.csrf("/login")}, "token": {tok}, "next": {"//evil.example/x"}})
	assert.Equal(t, "/projects", r.header.Get("Location"))
}

func TestSignInRefusals(t *testing.T) {
	f := newFixture(t, false)
	count := func() int {
		toks, err := f.acc.ListTokens(ctx, "olive")
		require.NoError(t, err)
		return len(toks)
	}
	before := count()
	c := f.client()
	r := c.login("olive", "wrong password")
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Contains(t, r.body, "are wrong, revoked or expired")
	assert.Nil(t, sessionCookie(t, r))

	r = c.post("/login", url.Values{"csrf": {c.csrf("/login")}, "token": {"swt_" + strings.Repeat("0", 64)}})
	assert.Equal(t, http.StatusUnauthorized, r.status)

	r = c.post("/login", url.Values{"csrf": {c.csrf("/login")}})
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.body, "Give a user name and password, or a token.")

	// right password, CSRF missing or wrong: refused, no session made
	for _, token := range []string{"", strings.Repeat("ab", 32)} {
		c.csrf("/login")
		r = c.post("/login", url.Values{"csrf": {token}, "username": {"olive"}, "password": {password}})
		assert.Equal(t, http.StatusForbidden, r.status)
		assert.Contains(t, r.body, "CSRF token is missing or wrong")
		assert.Nil(t, sessionCookie(t, r))
	}
	// a CSRF value from another browser's cookie does not work either
	other := f.client().csrf("/login")
	r = f.client().post("/login", url.Values{"csrf": {other}, "username": {"olive"}, "password": {password}})
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Equal(t, before, count(), "no session token was created")
}

func TestCSRFOnChanges(t *testing.T) {
	f := newFixture(t, false)
	mike := f.signedIn("mike")
	good := mike.csrf("/projects/proj/runtimes/rt")
	form := func(csrf string) url.Values {
		return url.Values{"csrf": {csrf}, "op": {"tag"}, "version": {"v0"}, "tag": {"prod"}}
	}
	for _, bad := range []string{"", "00", strings.Repeat("0", 64), f.signedIn("mike").csrf("/projects")} {
		r := mike.post("/projects/proj/runtimes/rt", form(bad))
		assert.Equal(t, http.StatusForbidden, r.status)
		assert.Contains(t, r.body, "nothing was changed")
		assert.NotContains(t, f.tags("proj", "rt", "v0"), "prod")
	}
	r := mike.post("/projects/proj/runtimes/rt", form(good))
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	assert.Contains(t, f.tags("proj", "rt", "v0"), "prod")
}

func TestMaintainerChangesVersions(t *testing.T) {
	f := newFixture(t, false)
	mike := f.signedIn("mike")
	csrf := mike.csrf("/projects/proj/runtimes/rt")
	do := func(op, version, tag string) response {
		return mike.post("/projects/proj/runtimes/rt", url.Values{"csrf": {csrf}, "op": {op}, "version": {version}, "tag": {tag}, "return": {"version"}})
	}
	r := do("tag", f.v0.Short, "prod")
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	assert.Equal(t, "/projects/proj/runtimes/rt/versions/"+f.v0.Short+"?done=tag", r.header.Get("Location"))
	assert.Contains(t, mike.get(r.header.Get("Location")).body, "Tagged.")
	assert.ElementsMatch(t, []string{"v0", "stable", "prod"}, f.tags("proj", "rt", "v0"))

	r = do("tag", "v0", "latest")
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.body, "latest")
	r = do("tag", "v0", "Bad Tag!")
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.body, "invalid tag &#34;Bad Tag!&#34;")
	r = do("tag", "v9", "x")
	assert.Equal(t, http.StatusNotFound, r.status)
	r = do("tag", "v1", "prod")
	assert.Equal(t, http.StatusConflict, r.status, "moving a tag needs force")
	r = do("untag", f.v0.Short, "prod")
	assert.Equal(t, http.StatusSeeOther, r.status)
	assert.Equal(t, []string{"v0", "stable"}, f.tags("proj", "rt", "v0"))
	r = do("untag", f.v0.Short, "nope")
	assert.Equal(t, http.StatusNotFound, r.status)
	r = do("explode", "v0", "")
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.body, "allowed: tag, untag, remove, recover")

	r = do("remove", "v0", "")
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	vs, err := f.reg.ListVersions(ctx, "proj", "rt", false)
	require.NoError(t, err)
	assert.Len(t, vs, 1)
	page := mike.get("/projects/proj/runtimes/rt/versions/" + f.v0.Short)
	assert.Equal(t, 200, page.status)
	assert.Contains(t, page.body, "in the trash")
	assert.Contains(t, page.body, `id="recover-button"`)
	list := mike.get("/projects/proj/runtimes/rt")
	assert.NotContains(t, list.body, f.v0.Short+"</code>", "removed versions are hidden by default")
	list = mike.get("/projects/proj/runtimes/rt?removed=1")
	assert.Contains(t, list.body, `<tr class="removed"><td><a href="/projects/proj/runtimes/rt/versions/`+f.v0.Short+`">`)
	r = do("recover", f.v0.Short, "")
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	vs, err = f.reg.ListVersions(ctx, "proj", "rt", false)
	require.NoError(t, err)
	assert.Len(t, vs, 2)
}

func TestGuestAndAnonymousRefused(t *testing.T) {
	f := newFixture(t, false)
	gus := f.signedIn("gus")
	page := gus.get("/projects/proj/runtimes/rt")
	require.Equal(t, 200, page.status)
	assert.NotContains(t, page.body, `id="change"`, "a guest gets no change form")
	assert.NotContains(t, gus.get("/projects/proj/runtimes/rt/versions/v0").body, `id="tag-button"`)
	csrf := gus.csrf("/projects")
	r := gus.post("/projects/proj/runtimes/rt", url.Values{"csrf": {csrf}, "op": {"tag"}, "version": {"v0"}, "tag": {"prod"}})
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Contains(t, r.body, "Your role in project proj does not allow push")
	r = gus.post("/projects/proj/runtimes/rt", url.Values{"csrf": {csrf}, "op": {"remove"}, "version": {"v0"}})
	assert.Equal(t, http.StatusForbidden, r.status)
	r = gus.post("/projects/proj/members", url.Values{"csrf": {csrf}, "op": {"set"}, "user": {"gus"}, "role": {"owner"}})
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.NotContains(t, f.tags("proj", "rt", "v0"), "prod")
	vs, err := f.reg.ListVersions(ctx, "proj", "rt", false)
	require.NoError(t, err)
	assert.Len(t, vs, 2)
	p, err := f.acc.Project(ctx, "proj")
	require.NoError(t, err)
	assert.EqualValues(t, "guest", p.Role("gus"))

	// anonymous: public projects only; a private one is a 404
	anon := f.client()
	list := anon.get("/projects").body
	assert.Contains(t, list, `href="/projects/pub"`)
	assert.NotContains(t, list, `href="/projects/proj"`)
	assert.Equal(t, 200, anon.get("/projects/pub/runtimes/hello").status)
	assert.Equal(t, 404, anon.get("/projects/proj/runtimes/rt/versions/v0").status)
	r = anon.post("/projects/pub/runtimes/hello", url.Values{"csrf": {anon.csrf("/login")}, "op": {"tag"}, "version": {"v0"}, "tag": {"x"}})
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Contains(t, r.body, "Sign in to push")
}

func TestNotFoundIsTheSameForMissingAndHidden(t *testing.T) {
	f := newFixture(t, false)
	for _, c := range []*client{f.client(), f.signedIn("olive")} {
		pairs := [][2]string{
			{"/projects/secret", "/projects/nosuch"},
			{"/projects/secret/runtimes/hidden", "/projects/nosuch/runtimes/hidden"},
			{"/projects/secret/runtimes/hidden/versions/v0", "/projects/secret/runtimes/nosuch/versions/v0"},
			{"/projects/secret/runtimes/hidden/versions/v0/download", "/projects/pub/runtimes/hello/versions/v9/download"},
			{"/projects/secret/members", "/projects/nosuch/members"},
			{"/projects/secret/runtimes/hidden/compare?a=v0&b=v0", "/projects/pub/runtimes/hello/compare?a=v0&b=v7"},
			{"/projects/secret/runtimes/hidden/versions/v0", "/projects/BAD..name/runtimes/x/versions/v0"},
		}
		for _, p := range pairs {
			a, b := c.get(p[0]), c.get(p[1])
			assert.Equal(t, http.StatusNotFound, a.status, p[0])
			assert.Equal(t, http.StatusNotFound, b.status, p[1])
			assert.Equal(t, a.body, b.body, "%s and %s must look the same", p[0], p[1])
			assert.NotContains(t, a.body, "/secret")
			assert.NotContains(t, a.body, "runtimes/hidden")
		}
	}
	// and the owner sees it
	assert.Equal(t, 200, f.signedIn("otto").get("/projects/secret/runtimes/hidden/versions/v0").status)
}

func TestVersionPageComparePageAndDownload(t *testing.T) {
	f := newFixture(t, false)
	olive := f.signedIn("olive")
	page := olive.get("/projects/proj/runtimes/rt/versions/v1")
	require.Equal(t, 200, page.status)
	for _, want := range []string{"python_version: &#39;3.12&#39;", "<td>requests</td><td>2.32.3</td>",
		"wheels/torch_lite-0.9-py3-none-any.whl", "sha256:" + strings.Repeat("a", 64), "3.12.1",
		"swcli runtime copy http://" + strings.TrimPrefix(f.url, "http://") + "/project/proj/runtime/rt/version/" + f.v1.Short + " local/project/self",
		"swcli runtime restore rt/version/" + f.v1.Short, "swcli runtime copy ./rt-" + f.v1.Short + ".swrt local/project/self", "/projects/proj/runtimes/rt/versions/" + f.v1.Short + "/download"} {
		assert.Contains(t, page.body, want)
	}
	// numpy's layer is in v0 too; the others are not
	assert.Contains(t, page.body, "<td>package</td><td>numpy==1.26.4</td>")
	assert.Regexp(t, `numpy==1\.26\.4</td><td><code>[0-9a-f]{12}</code></td><td class="num">[^<]+</td><td class="num">1 other`, page.body)
	assert.Regexp(t, `requests==2\.32\.3</td><td><code>[0-9a-f]{12}</code></td><td class="num">[^<]+</td><td class="num">0 other`, page.body)

	cmp := olive.get("/projects/proj/runtimes/rt/compare?a=v0&b=latest")
	require.Equal(t, 200, cmp.status)
	assert.Contains(t, cmp.body, "1 added, 1 removed, 1 changed, 1 the same.")
	assert.Contains(t, cmp.body, "<td>added</td><td>torch-lite</td>")
	assert.Contains(t, cmp.body, "<td>removed</td><td>old-thing</td><td>0.1</td>")
	assert.Contains(t, cmp.body, "<td>changed</td><td>requests</td><td>2.31.0</td><td>2.32.3</td>")
	assert.Contains(t, cmp.body, "<td>Python</td><td>3.11.4</td><td>3.12.1</td>")
	assert.Regexp(t, `in 3 layers only in `+f.v0.Short+`; .* in 3 layers only in `+f.v1.Short, cmp.body)
	assert.Equal(t, http.StatusBadRequest, olive.get("/projects/proj/runtimes/rt/compare?a=v0").status)

	dl, err := olive.hc.Get(f.url + "/projects/proj/runtimes/rt/versions/v1/download")
	require.NoError(t, err)
	defer dl.Body.Close()
	require.Equal(t, 200, dl.StatusCode)
	assert.Contains(t, dl.Header.Get("Content-Disposition"), `filename="rt-`+f.v1.Short+`.swrt"`)
	dir := t.TempDir()
	lay, err := bundle.ReadSWRT(ctx, dl.Body, dir, bundle.DefaultLimits)
	require.NoError(t, err, "the download is a valid .swrt")
	assert.Equal(t, f.v1.Digest, lay.ManifestDigest)
	assert.Equal(t, "v1", lay.RefName)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1+1+4) // manifest, config, snapshot and three packages
}

func TestUserWrittenTextIsEscaped(t *testing.T) {
	f := newFixture(t, false)
	page := f.signedIn("olive").get("/projects/proj/runtimes/evil/versions/latest")
	require.Equal(t, 200, page.status)
	assert.Contains(t, page.body, "&lt;/pre&gt;&lt;script&gt;window.pwned=1&lt;/script&gt;&lt;img src=x id=injected&gt;")
	assert.Contains(t, page.body, "&lt;b id=&#34;injected-pkg&#34;&gt;x&lt;/b&gt;")
	assert.NotContains(t, page.body, "<script>")
	assert.NotContains(t, page.body, `<img`)
	assert.NotContains(t, page.body, `<b id`)
}

func TestSessionEndsOnSignOutAndExpiry(t *testing.T) {
	f := newFixture(t, false)
	olive := f.signedIn("olive")
	saved := olive.jar.Cookies(mustURL(t, f.url))
	csrf := olive.csrf("/projects")
	r := olive.post("/logout", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusSeeOther, r.status)
	assert.Equal(t, "/login?done=signout", r.header.Get("Location"))
	assert.Contains(t, olive.get("/login?done=signout").body, "You are signed out.")
	toks, err := f.acc.ListTokens(ctx, "olive")
	require.NoError(t, err)
	assert.Len(t, toks, 1, "the session token is revoked")

	// the old cookie, replayed (as if copied before sign-out), no longer works
	replay := f.client()
	replay.jar.SetCookies(mustURL(t, f.url), saved)
	r = replay.get("/projects/proj")
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Contains(t, r.body, "Your session has expired or was signed out.")
	assert.Contains(t, r.body, `name="next" value="/projects/proj"`)

	// expiry: the store's clock passes the session's end
	gus := f.signedIn("gus")
	assert.Equal(t, 200, gus.get("/projects/proj").status)
	f.clock.advance(13 * time.Hour)
	r = gus.get("/projects/proj")
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Contains(t, r.body, "Your session has expired")
	assert.Equal(t, 200, gus.get("/projects/pub").status, "the cookie was cleared: now anonymous")
}

func TestSessionWorksOnEveryServerOfTheStore(t *testing.T) {
	f := newFixture(t, false)
	other := f.secondServer()
	olive := f.signedIn("olive")
	onB := f.client()
	onB.jar.SetCookies(mustURL(t, other), olive.jar.Cookies(mustURL(t, f.url)))
	get := func() response {
		resp, err := onB.hc.Get(other + "/projects/proj")
		require.NoError(t, err)
		return read(t, resp)
	}
	r := get()
	require.Equal(t, 200, r.status, "a session made on one server works on the other")
	assert.Contains(t, r.body, `id="whoami">olive<`)
	// a CSRF token from one server is good on the other (it needs no storage)
	resp, err := onB.hc.PostForm(other+"/projects/proj/runtimes/rt", url.Values{"csrf": {olive.csrf("/projects")}, "op": {"tag"}, "version": {"v0"}, "tag": {"from-b"}})
	require.NoError(t, err)
	assert.Equal(t, http.StatusSeeOther, read(t, resp).status)
	assert.Contains(t, f.tags("proj", "rt", "v0"), "from-b")
	// signing out on the first ends it on the second
	require.Equal(t, http.StatusSeeOther, olive.post("/logout", url.Values{"csrf": {olive.csrf("/projects")}}).status)
	assert.Equal(t, http.StatusUnauthorized, get().status)
}

func TestOwnerManagesMembersAdminUsersEveryoneTokens(t *testing.T) {
	f := newFixture(t, false)
	olive := f.signedIn("olive")
	csrf := olive.csrf("/projects/proj/members")
	r := olive.post("/projects/proj/members", url.Values{"csrf": {csrf}, "op": {"set"}, "user": {"otto"}, "role": {"maintainer"}})
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	p, err := f.acc.Project(ctx, "proj")
	require.NoError(t, err)
	assert.EqualValues(t, "maintainer", p.Role("otto"))
	r = olive.post("/projects/proj/members", url.Values{"csrf": {csrf}, "op": {"set"}, "user": {"otto"}, "role": {"boss"}})
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.body, "allowed: owner, maintainer, guest")
	r = olive.post("/projects/proj/members", url.Values{"csrf": {csrf}, "op": {"remove"}, "user": {"olive"}})
	assert.Equal(t, http.StatusConflict, r.status, "the last owner stays")
	r = olive.post("/projects/proj/members", url.Values{"csrf": {csrf}, "op": {"public"}, "public": {"1"}})
	require.Equal(t, http.StatusSeeOther, r.status)
	assert.Equal(t, 200, f.client().get("/projects/proj").status, "now public")

	// mike (maintainer) sees members but may not change them
	mike := f.signedIn("mike")
	assert.NotContains(t, mike.get("/projects/proj/members").body, `id="member-form"`)

	// users: admin only (others get the 404)
	assert.Equal(t, 404, olive.get("/users").status)
	admin := f.signedIn("admin")
	csrf = admin.csrf("/users")
	r = admin.post("/users", url.Values{"csrf": {csrf}, "op": {"create"}, "name": {"nina"}})
	require.Equal(t, http.StatusCreated, r.status, r.body)
	m := regexp.MustCompile(`id="new-token">(swt_[0-9a-f]+)<`).FindStringSubmatch(r.body)
	require.NotNil(t, m)
	assert.NotContains(t, admin.get("/users").body, m[1], "shown once")
	r = admin.post("/users", url.Values{"csrf": {csrf}, "op": {"create"}, "name": {"Bad Name"}})
	assert.Equal(t, http.StatusBadRequest, r.status)
	r = admin.post("/users", url.Values{"csrf": {csrf}, "op": {"delete"}, "name": {"nina"}})
	assert.Equal(t, http.StatusSeeOther, r.status)

	// tokens: create shows it once; revoke
	csrf = olive.csrf("/tokens")
	r = olive.post("/tokens", url.Values{"csrf": {csrf}, "op": {"create"}, "name": {"ci"}, "days": {"30"}})
	require.Equal(t, http.StatusCreated, r.status, r.body)
	m = regexp.MustCompile(`id="new-token">(swt_[0-9a-f]+)<`).FindStringSubmatch(r.body)
	require.NotNil(t, m)
	list := olive.get("/tokens").body
	assert.NotContains(t, list, m[1])
	assert.Contains(t, list, "(this session)")
	r = olive.post("/tokens", url.Values{"csrf": {csrf}, "op": {"create"}, "name": {"ci"}, "days": {"soon"}})
	assert.Equal(t, http.StatusBadRequest, r.status)
	toks, err := f.acc.ListTokens(ctx, "olive")
	require.NoError(t, err)
	var ci string
	for _, tk := range toks {
		if tk.Name == "ci" {
			ci = tk.ID
		}
	}
	r = olive.post("/tokens", url.Values{"csrf": {csrf}, "op": {"revoke"}, "id": {ci}})
	assert.Equal(t, http.StatusSeeOther, r.status)
	_, err = f.acc.Authenticate(bearer(m[1]))
	assert.Error(t, err, "the revoked token no longer works")
	r = olive.post("/tokens", url.Values{"csrf": {csrf}, "op": {"revoke"}, "id": {ci}})
	assert.Equal(t, http.StatusNotFound, r.status)
}

func bearer(tok string) *http.Request {
	r, _ := http.NewRequest("GET", "/", bytes.NewReader(nil))
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}
