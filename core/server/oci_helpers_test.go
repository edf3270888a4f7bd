package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/server"
	"github.com/swcli/swcli/core/store"
)

// testAccess is a fixed-token Access for tests (the real one lives in the
// auth package): tokens name users, users have roles per project, public
// projects are readable anonymously.
type testAccess struct {
	tokens map[string]string            // token -> user
	roles  map[string]map[string]string // user -> project -> guest|maintainer|owner
	public map[string]bool
}

func (a *testAccess) Authenticate(r *http.Request) (server.Principal, error) {
	h := r.Header.Get("Authorization")
	var tok string
	switch {
	case h == "":
		return server.Principal{}, nil
	case strings.HasPrefix(h, "Bearer "):
		tok = strings.TrimPrefix(h, "Bearer ")
	default:
		_, pw, ok := r.BasicAuth()
		if !ok {
			return server.Principal{}, server.ErrUnauthenticated
		}
		tok = pw
	}
	u, ok := a.tokens[tok]
	if !ok {
		return server.Principal{}, server.ErrUnauthenticated
	}
	return server.Principal{User: u}, nil
}

func (a *testAccess) Authorize(_ context.Context, p server.Principal, project string, act server.Action) error {
	if p.Anonymous() {
		if a.public[project] && act == server.ActionPull {
			return nil
		}
		return server.ErrUnauthenticated
	}
	role := a.roles[p.User][project]
	need := map[server.Action]int{server.ActionPull: 1, server.ActionPush: 2, server.ActionDelete: 2, server.ActionManage: 3}[act]
	have := map[string]int{"guest": 1, "maintainer": 2, "owner": 3}[role]
	if a.public[project] && act == server.ActionPull {
		have = max(have, 1)
	}
	if have < need {
		return server.ErrForbidden
	}
	return nil
}

const (
	adminToken = "tok-admin-0123456789"
	guestToken = "tok-guest-0123456789"
)

func newAccess() *testAccess {
	return &testAccess{
		tokens: map[string]string{adminToken: "alice", guestToken: "bob"},
		roles: map[string]map[string]string{
			"alice": {"self": "owner", "other": "owner", "pub": "owner"},
			"bob":   {"self": "guest"},
		},
		public: map[string]bool{"pub": true},
	}
}

type testServer struct {
	*httptest.Server
	reg   *registry.Registry
	store store.Store
	host  string // 127.0.0.1:port
}

func newTestServerOn(t testing.TB, s store.Store, opts ...server.OCIOption) *testServer {
	t.Helper()
	reg := registry.New(s)
	mux := http.NewServeMux()
	mux.Handle("/v2/", server.NewOCIHandler(reg, newAccess(), hclog.NewNullLogger(), opts...))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, reg: reg, store: s, host: strings.TrimPrefix(ts.URL, "http://")}
}

func newTestServer(t testing.TB, opts ...server.OCIOption) *testServer {
	t.Helper()
	return newTestServerOn(t, newStore(t), opts...)
}

func newTestServerOnAccess(t testing.TB, s store.Store, acc server.Access) *testServer {
	t.Helper()
	reg := registry.New(s)
	ts := httptest.NewServer(server.NewOCIHandler(reg, acc, hclog.NewNullLogger()))
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, reg: reg, store: s, host: strings.TrimPrefix(ts.URL, "http://")}
}
