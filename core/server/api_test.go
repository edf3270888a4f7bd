package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/hashicorp/go-hclog"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/server"
	"github.com/swcli/swcli/core/server/auth"
	"github.com/swcli/swcli/core/store"
)

var ctx = context.Background()

// fixture is a server over a fresh store with:
//   - admin (Admin), olive (owner of proj, pub, empty), mike (maintainer of
//     proj and empty), gus (guest of proj), otto (in no project);
//   - proj (private): runtime rt with v0 (tag stable), v1 (latest) and v2
//     (removed); pub (public): runtime rt with v0; empty: no runtimes;
//   - tokens: one per user, olive's "revoked" (revoked), otto's "spare".
type fixture struct {
	t      *testing.T
	url    string
	srv    *server.Server
	acc    *auth.Auth
	reg    *registry.Registry
	st     store.Store
	tokens map[string]string
	spare  string // id of otto's spare token
	log    *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := newStore(t)
	acc, err := auth.New(st, auth.WithBcryptCost(bcrypt.MinCost))
	require.NoError(t, err)
	reg := registry.New(st)
	f := &fixture{t: t, st: st, acc: acc, reg: reg, tokens: map[string]string{}, log: &bytes.Buffer{}}
	log := hclog.New(&hclog.LoggerOptions{Output: f.log, Level: hclog.Info})
	f.srv, err = server.New(server.Config{Accounts: acc, Registry: reg, Log: log, AdminToken: "swt_admin-0123456789abcdef"})
	require.NoError(t, err)
	require.NoError(t, f.srv.Bootstrap(ctx))
	f.tokens["admin"] = "swt_admin-0123456789abcdef"
	for _, u := range []string{"olive", "mike", "gus", "otto"} {
		_, tok, err := acc.CreateUser(ctx, u, false, "")
		require.NoError(t, err)
		f.tokens[u] = tok
	}
	for _, p := range []struct {
		name   string
		public bool
	}{{"proj", false}, {"pub", true}, {"empty", false}} {
		_, err := acc.CreateProject(ctx, p.name, "olive", p.public)
		require.NoError(t, err)
	}
	for _, m := range []struct {
		project, user string
		role          server.Role
	}{{"proj", "mike", server.RoleMaintainer}, {"proj", "gus", server.RoleGuest}, {"empty", "mike", server.RoleMaintainer}} {
		_, err := acc.SetMember(ctx, m.project, m.user, m.role)
		require.NoError(t, err)
	}
	revoked, tok, err := acc.CreateToken(ctx, "olive", "revoked", time.Time{})
	require.NoError(t, err)
	require.NoError(t, acc.RevokeToken(ctx, "olive", revoked.ID))
	f.tokens["revoked"] = tok
	spare, _, err := acc.CreateToken(ctx, "otto", "spare", time.Time{})
	require.NoError(t, err)
	f.spare = spare.ID

	f.build("proj", "rt", "zero", "stable")
	f.build("proj", "rt", "one")
	f.build("proj", "rt", "two")
	require.NoError(t, reg.Remove(ctx, "proj", "rt", "v2", false))
	f.build("pub", "rt", "zero")

	hs := httptest.NewServer(f.srv)
	t.Cleanup(hs.Close)
	f.url = hs.URL
	return f
}

// build adds a version made of a config and one layer from seed.
func (f *fixture) build(project, name, seed string, tags ...string) registry.Version {
	put := func(content string) ocispec.Descriptor {
		d, err := f.reg.PutBlob(ctx, strings.NewReader(content), digest.FromString(content))
		require.NoError(f.t, err)
		return d
	}
	config, layer := put(`{"name":"`+seed+`"}`), put("layer of "+seed)
	config.MediaType, layer.MediaType = "application/vnd.starwhale.runtime.config.v1+json", ocispec.MediaTypeImageLayer
	m, err := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest, Config: config, Layers: []ocispec.Descriptor{layer}})
	require.NoError(f.t, err)
	v, err := f.reg.PutVersion(ctx, project, name, m, tags)
	require.NoError(f.t, err)
	return v
}

// call sends a request as who ("" anonymous, a user, "revoked", "wrong")
// and returns the status and the body.
func (f *fixture) call(who, method, path, body string) (int, []byte, http.Header) {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.url+path, rd)
	require.NoError(f.t, err)
	switch who {
	case "":
	case "wrong":
		req.Header.Set("Authorization", "Bearer swt_"+strings.Repeat("0", 64))
	default:
		tok, ok := f.tokens[who]
		require.True(f.t, ok, who)
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(f.t, err)
	return resp.StatusCode, data, resp.Header
}

// errorCode checks the JSON error shape and returns its code.
func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	require.NotEmpty(t, e.Error.Code, string(body))
	require.NotEmpty(t, e.Error.Message, string(body))
	return e.Error.Code
}

func TestAPIRoutes(t *testing.T) {
	const v = "/api/v1/projects/proj/runtimes/rt"
	for _, rt := range []struct {
		method, path, body string
		// who is the least privileged caller who may: "" anyone.
		who    string
		status int
		// below is a caller with less right, refused with belowStatus.
		below       string
		belowStatus int
		check       func(t *testing.T, f *fixture, body []byte)
	}{
		{"GET", "/api/v1/whoami", "", "otto", 200, "", 401, func(t *testing.T, f *fixture, b []byte) {
			assert.JSONEq(t, `{"user":"otto","admin":false}`, string(b))
		}},
		{"GET", "/api/v1/projects", "", "", 200, "", 0, func(t *testing.T, f *fixture, b []byte) {
			assert.Contains(t, string(b), `"pub"`)
			assert.NotContains(t, string(b), `"proj"`, "anonymous sees public projects only")
		}},
		{"POST", "/api/v1/projects", `{"name":"newp","public":true}`, "otto", 201, "", 401, func(t *testing.T, f *fixture, b []byte) {
			p, err := f.acc.Project(ctx, "newp")
			require.NoError(t, err)
			assert.Equal(t, server.RoleOwner, p.Role("otto"))
		}},
		{"GET", "/api/v1/projects/proj", "", "gus", 200, "otto", 404, nil},
		{"PATCH", "/api/v1/projects/proj", `{"public":true}`, "olive", 200, "mike", 403, func(t *testing.T, f *fixture, b []byte) {
			assert.Contains(t, string(b), `"public":true`)
		}},
		{"DELETE", "/api/v1/projects/empty", "", "olive", 204, "mike", 403, func(t *testing.T, f *fixture, b []byte) {
			_, err := f.acc.Project(ctx, "empty")
			require.ErrorIs(t, err, server.ErrNoProject)
		}},
		{"GET", "/api/v1/projects/proj/members", "", "gus", 200, "otto", 404, func(t *testing.T, f *fixture, b []byte) {
			assert.Contains(t, string(b), `{"user":"mike","role":"maintainer"}`)
		}},
		{"PUT", "/api/v1/projects/proj/members/otto", `{"role":"guest"}`, "olive", 200, "mike", 403, func(t *testing.T, f *fixture, b []byte) {
			assert.Contains(t, string(b), `{"user":"otto","role":"guest"}`)
		}},
		{"DELETE", "/api/v1/projects/proj/members/gus", "", "olive", 200, "mike", 403, func(t *testing.T, f *fixture, b []byte) {
			assert.NotContains(t, string(b), "gus")
		}},
		{"GET", "/api/v1/projects/proj/runtimes", "", "gus", 200, "otto", 404, func(t *testing.T, f *fixture, b []byte) {
			assert.Contains(t, string(b), `"name":"rt","versions":2`)
		}},
		{"GET", v + "/versions", "", "gus", 200, "otto", 404, func(t *testing.T, f *fixture, b []byte) {
			var vs []registry.Version
			require.NoError(t, json.Unmarshal(b, &vs))
			require.Len(t, vs, 2)
			assert.Equal(t, []string{"v1", "latest"}, vs[0].Tags)
			assert.Equal(t, []string{"v0", "stable"}, vs[1].Tags)
			assert.Positive(t, vs[0].Size)
			assert.False(t, vs[0].Created.IsZero())
		}},
		{"GET", v + "/versions/v1", "", "gus", 200, "otto", 404, func(t *testing.T, f *fixture, b []byte) {
			assert.Contains(t, string(b), `"tags":["v1","latest"]`)
		}},
		{"DELETE", v + "/versions/v0", "", "mike", 204, "gus", 403, func(t *testing.T, f *fixture, b []byte) {
			_, err := f.reg.Resolve(ctx, "proj", "rt", "v0")
			require.Error(t, err)
		}},
		{"DELETE", v + "?force=false", "", "mike", 200, "gus", 403, func(t *testing.T, f *fixture, b []byte) {
			var vs []registry.Version
			require.NoError(t, json.Unmarshal(b, &vs))
			require.Len(t, vs, 2, "every live version, as one operation")
			_, err := f.reg.Resolve(ctx, "proj", "rt", "latest")
			require.Error(t, err)
			rv, err := f.reg.Recover(ctx, "proj", "rt", "v0")
			require.NoError(t, err, "to the trash, recoverable")
			assert.Equal(t, 0, rv.Number)
		}},
		{"POST", v + "/versions/v2/recover", "", "mike", 200, "gus", 403, func(t *testing.T, f *fixture, b []byte) {
			assert.Contains(t, string(b), `"tags":["v2","latest"]`)
		}},
		{"POST", v + "/versions/v1/tags", `{"tags":["prod"]}`, "mike", 200, "gus", 403, func(t *testing.T, f *fixture, b []byte) {
			assert.Contains(t, string(b), `"prod"`)
		}},
		{"DELETE", v + "/tags/stable", "", "mike", 204, "gus", 403, func(t *testing.T, f *fixture, b []byte) {
			_, err := f.reg.Resolve(ctx, "proj", "rt", "stable")
			require.Error(t, err)
		}},
		{"GET", "/api/v1/users", "", "admin", 200, "olive", 403, func(t *testing.T, f *fixture, b []byte) {
			assert.Contains(t, string(b), `"name":"otto"`)
			assert.NotContains(t, string(b), "$2a$")
		}},
		{"POST", "/api/v1/users", `{"name":"newu","password":"a long password"}`, "admin", 201, "olive", 403, func(t *testing.T, f *fixture, b []byte) {
			var out struct {
				User  server.User
				Token string
			}
			require.NoError(t, json.Unmarshal(b, &out))
			assert.Equal(t, "newu", out.User.Name)
			f.tokens["newu"] = out.Token
			st, body, _ := f.call("newu", "GET", "/api/v1/whoami", "")
			assert.Equal(t, 200, st, string(body))
		}},
		{"PUT", "/api/v1/users/otto/password", `{"password":"a long password"}`, "otto", 204, "gus", 403, func(t *testing.T, f *fixture, b []byte) {
			req := httptest.NewRequest("GET", "/", nil)
			req.SetBasicAuth("otto", "a long password")
			p, err := f.acc.Authenticate(req)
			require.NoError(t, err)
			assert.Equal(t, "otto", p.User)
		}},
		{"DELETE", "/api/v1/users/otto", "", "admin", 204, "olive", 403, func(t *testing.T, f *fixture, b []byte) {
			st, _, _ := f.call("otto", "GET", "/api/v1/whoami", "")
			assert.Equal(t, 401, st, "a deleted user's token stops working")
		}},
		{"GET", "/api/v1/tokens", "", "otto", 200, "", 401, func(t *testing.T, f *fixture, b []byte) {
			assert.Contains(t, string(b), `"name":"spare"`)
			assert.NotContains(t, string(b), strings.TrimPrefix(f.tokens["otto"], "swt_"))
		}},
		{"POST", "/api/v1/tokens", `{"name":"ci","expires_in":"24h"}`, "otto", 201, "", 401, func(t *testing.T, f *fixture, b []byte) {
			var out struct {
				Token   string
				Expires time.Time
			}
			require.NoError(t, json.Unmarshal(b, &out))
			assert.False(t, out.Expires.IsZero())
			f.tokens["ci"] = out.Token
			st, _, _ := f.call("ci", "GET", "/api/v1/whoami", "")
			assert.Equal(t, 200, st)
		}},
		{"DELETE", "/api/v1/tokens/{spare}", "", "otto", 204, "mike", 404, func(t *testing.T, f *fixture, b []byte) {
			ts, err := f.acc.ListTokens(ctx, "otto")
			require.NoError(t, err)
			assert.Len(t, ts, 1)
		}},
	} {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			f := newFixture(t)
			path := strings.ReplaceAll(rt.path, "{spare}", f.spare)
			// Wrong, revoked and (where needed) missing credentials: 401
			// with a challenge, on every route.
			denied := []string{"wrong", "revoked"}
			if rt.who != "" {
				denied = append(denied, "")
			}
			for _, who := range denied {
				st, body, h := f.call(who, rt.method, path, rt.body)
				require.Equal(t, 401, st, "as %q: %s", who, body)
				assert.Equal(t, "unauthorized", errorCode(t, body))
				assert.Contains(t, h.Get("WWW-Authenticate"), "Bearer")
			}
			if rt.below != "" {
				st, body, _ := f.call(rt.below, rt.method, path, rt.body)
				require.Equal(t, rt.belowStatus, st, "as %s: %s", rt.below, body)
				errorCode(t, body)
			}
			// The happy path runs after the refusals: they changed nothing
			// (else deleting or tagging again would fail here).
			st, body, _ := f.call(rt.who, rt.method, path, rt.body)
			require.Equal(t, rt.status, st, "as %q: %s", rt.who, body)
			if rt.check != nil {
				rt.check(t, f, body)
			}
			for _, tok := range f.tokens {
				assert.NotContains(t, f.log.String(), strings.TrimPrefix(tok, "swt_"), "no token in the log")
			}
		})
	}
}

// A private project answers an outsider exactly as a missing one: 401
// anonymously, 404 signed in; a public one is readable anonymously.
func TestAPIVisibility(t *testing.T) {
	f := newFixture(t)
	norm := func(b []byte, name string) string { return strings.ReplaceAll(string(b), " "+name, " NAME") }
	for _, path := range []string{"", "/runtimes", "/runtimes/rt/versions", "/runtimes/rt/versions/v0"} {
		for _, who := range []string{"", "otto"} {
			st1, b1, _ := f.call(who, "GET", "/api/v1/projects/proj"+path, "")
			st2, b2, _ := f.call(who, "GET", "/api/v1/projects/nope"+path, "")
			want := 404
			if who == "" {
				want = 401
			}
			assert.Equal(t, want, st1, "%q %s: %s", who, path, b1)
			assert.Equal(t, st1, st2, path)
			assert.Equal(t, norm(b1, "proj"), norm(b2, "nope"), "the same answer for private and missing")
		}
		st, b, _ := f.call("", "GET", "/api/v1/projects/pub"+path, "")
		assert.Equal(t, 200, st, "anonymous on a public project %s: %s", path, b)
	}
	st, b, _ := f.call("", "GET", "/api/v1/projects/pub", "")
	require.Equal(t, 200, st)
	assert.Contains(t, string(b), `"members":[]`, "anonymous callers see no member names")
	st, b, _ = f.call("", "POST", "/api/v1/projects/pub/runtimes/rt/versions/v0/tags", `{"tags":["x"]}`)
	assert.Equal(t, 401, st, "anonymous may not push to a public project: %s", b)
	st, b, _ = f.call("otto", "POST", "/api/v1/projects/pub/runtimes/rt/versions/v0/tags", `{"tags":["x"]}`)
	assert.Equal(t, 403, st, "a non-member may not push to a public project: %s", b)
	st, b, _ = f.call("admin", "GET", "/api/v1/projects/nope", "")
	assert.Equal(t, 404, st, string(b))
}

func TestAPIBadInput(t *testing.T) {
	f := newFixture(t)
	const v = "/api/v1/projects/proj/runtimes/rt"
	for _, tc := range []struct {
		who, method, path, body string
		status                  int
		code, message           string
	}{
		{"olive", "POST", "/api/v1/projects", `{"name":"Bad Name"}`, 400, "invalid", "invalid project name"},
		{"olive", "POST", "/api/v1/projects", `{"name":"x","owner":"me"}`, 400, "invalid", "unknown field"},
		{"olive", "POST", "/api/v1/projects", `{"name":`, 400, "invalid", "request body"},
		{"olive", "POST", "/api/v1/projects", ``, 400, "invalid", "JSON body"},
		{"olive", "POST", "/api/v1/projects", `{"name":"a"}{"name":"b"}`, 400, "invalid", "more than one"},
		{"olive", "POST", "/api/v1/projects", `{"name":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "too_large", "larger than"},
		{"olive", "POST", "/api/v1/projects", `{"name":"proj"}`, 409, "conflict", "already exists"},
		{"olive", "DELETE", "/api/v1/projects/proj", ``, 409, "conflict", "still has runtimes"},
		{"admin", "DELETE", "/api/v1/projects/self", ``, 409, "conflict", "default project"},
		{"olive", "PUT", "/api/v1/projects/proj/members/gus", `{"role":"boss"}`, 400, "invalid", "owner, maintainer, guest"},
		{"olive", "PUT", "/api/v1/projects/proj/members/nobody", `{"role":"guest"}`, 404, "not_found", "user nobody"},
		{"olive", "DELETE", "/api/v1/projects/proj/members/olive", ``, 409, "conflict", "no owner"},
		{"gus", "GET", "/api/v1/projects/proj/runtimes/Bad..Name/versions", ``, 400, "invalid", "invalid runtime name"},
		{"gus", "GET", v + "/versions/v9", ``, 404, "not_found", "no version v9"},
		{"gus", "GET", v + "/versions/v2", ``, 404, "not_found", "removed"},
		{"gus", "GET", v + "/versions?removed=maybe", ``, 400, "invalid", "not a boolean"},
		{"mike", "DELETE", v + "/versions/v1?force=maybe", ``, 400, "invalid", "query parameter force="},
		{"mike", "DELETE", v + "?force=maybe", ``, 400, "invalid", "query parameter force="},
		{"gus", "DELETE", v + "?force=maybe", ``, 403, "forbidden", ""},
		{"mike", "POST", v + "/versions/v1/tags", `{"tags":["latest"]}`, 400, "invalid", "reserved"},
		{"mike", "POST", v + "/versions/v1/tags", `{"tags":["v7"]}`, 400, "invalid", "reserved"},
		{"mike", "POST", v + "/versions/v1/tags", `{"tags":["stable"]}`, 409, "conflict", "already on version"},
		{"mike", "POST", v + "/versions/v1/tags", `{"tags":[]}`, 400, "invalid", "no tags"},
		{"mike", "DELETE", v + "/tags/latest", ``, 400, "invalid", "reserved"},
		{"mike", "DELETE", v + "/tags/nope", ``, 404, "not_found", "no tag nope"},
		{"mike", "POST", v + "/versions/v1/recover", ``, 409, "conflict", "not removed"},
		{"admin", "POST", "/api/v1/users", `{"name":"olive"}`, 409, "conflict", "already exists"},
		{"admin", "POST", "/api/v1/users", `{"name":"x","password":"short"}`, 400, "invalid", "password must be"},
		{"admin", "DELETE", "/api/v1/users/admin", ``, 409, "conflict", "yourself"},
		{"admin", "DELETE", "/api/v1/users/nobody", ``, 404, "not_found", "user nobody"},
		{"otto", "POST", "/api/v1/tokens", `{"name":"t","expires_in":"-1h"}`, 400, "invalid", "positive duration"},
		{"otto", "POST", "/api/v1/tokens", `{"name":"t","expires":"2000-01-01T00:00:00Z"}`, 400, "invalid", "in the past"},
		{"otto", "DELETE", "/api/v1/tokens/xyz", ``, 400, "invalid", "token id"},
		{"otto", "GET", "/api/v1/nothing-here", ``, 404, "not_found", "no route"},
	} {
		st, body, _ := f.call(tc.who, tc.method, tc.path, tc.body)
		name := tc.method + " " + tc.path + " " + tc.body
		if len(name) > 120 {
			name = name[:120]
		}
		if assert.Equal(t, tc.status, st, "%s: %s", name, body) {
			assert.Equal(t, tc.code, errorCode(t, body), name)
			assert.Contains(t, string(body), tc.message, name)
		}
	}
}
