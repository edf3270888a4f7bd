package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/swcli/swcli/core/server"
	"github.com/swcli/swcli/core/server/auth"
	"github.com/swcli/swcli/core/store"
)

var ctx = context.Background()

func newStore(t *testing.T) *store.FS {
	t.Helper()
	s, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	return s
}

func newAuth(t *testing.T, s store.Store, opts ...auth.Option) *auth.Auth {
	t.Helper()
	a, err := auth.New(s, append([]auth.Option{auth.WithBcryptCost(bcrypt.MinCost)}, opts...)...)
	require.NoError(t, err)
	return a
}

func request(header string) *http.Request {
	r, _ := http.NewRequest("GET", "http://x/api/v1/whoami", nil)
	if header != "" {
		r.Header.Set("Authorization", header)
	}
	return r
}

func bearer(tok string) string { return "Bearer " + tok }
func basic(user, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+secret))
}

func TestAuthenticate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a := newAuth(t, newStore(t), auth.WithClock(clock))
	_, tok, err := a.CreateUser(ctx, "alice", false, "correct horse")
	require.NoError(t, err)
	_, short, err := a.CreateToken(ctx, "alice", "ci", now.Add(time.Hour))
	require.NoError(t, err)
	_, gone, err := a.CreateToken(ctx, "alice", "old", time.Time{})
	require.NoError(t, err)
	list, err := a.ListTokens(ctx, "alice")
	require.NoError(t, err)
	require.Len(t, list, 3)
	for _, tk := range list {
		if tk.Name == "old" {
			require.NoError(t, a.RevokeToken(ctx, "alice", tk.ID))
		}
	}
	_, notPw, err := a.CreateUser(ctx, "bob", true, "")
	require.NoError(t, err)

	alice := server.Principal{User: "alice"}
	for _, tc := range []struct {
		name   string
		header string
		want   server.Principal
		fails  bool
	}{
		{"none", "", server.Principal{}, false},
		{"bearer", bearer(tok), alice, false},
		{"bearer lower-case scheme", "bearer " + tok, alice, false},
		{"basic any user with token", basic("whoever", tok), alice, false},
		{"basic user and password", basic("alice", "correct horse"), alice, false},
		{"admin", bearer(notPw), server.Principal{User: "bob", Admin: true}, false},
		{"token with expiry, before it", bearer(short), alice, false},
		{"wrong token", bearer(tok + "x"), server.Principal{}, true},
		{"empty bearer", "Bearer ", server.Principal{}, true},
		{"revoked token", bearer(gone), server.Principal{}, true},
		{"wrong password", basic("alice", "wrong horse"), server.Principal{}, true},
		{"password of a user without one", basic("bob", "correct horse"), server.Principal{}, true},
		{"unknown user", basic("carol", "correct horse"), server.Principal{}, true},
		{"bad base64", "Basic !!!", server.Principal{}, true},
		{"unknown scheme", "Digest abc", server.Principal{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := a.Authenticate(request(tc.header))
			if tc.fails {
				require.ErrorIs(t, err, server.ErrUnauthenticated)
				for _, secret := range []string{tok, short, gone, "correct horse", "wrong horse"} {
					assert.NotContains(t, err.Error(), secret)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, p)
		})
	}

	now = now.Add(2 * time.Hour) // past the expiry of "ci"
	_, err = a.Authenticate(request(bearer(short)))
	require.ErrorIs(t, err, server.ErrUnauthenticated)

	// A token left behind (a delete cut short) never works for a new
	// account of the same name.
	s := a.Store()
	sum := sha256.Sum256([]byte(tok))
	leftKey := "auth/tokens/" + hex.EncodeToString(sum[:]) + ".json"
	left, err := os.ReadFile(filepath.Join(s.(*store.FS).Root(), leftKey))
	require.NoError(t, err)
	require.Contains(t, string(left), `"user":"alice"`)

	require.NoError(t, a.DeleteUser(ctx, "alice"))
	_, _, err = a.CreateUser(ctx, "alice", false, "")
	require.NoError(t, err)
	require.NoError(t, s.Put(ctx, leftKey, strings.NewReader(string(left)), store.PutOptions{}))
	_, err = a.Authenticate(request(bearer(tok)))
	require.ErrorIs(t, err, server.ErrUnauthenticated, "an old account's token")
	require.NoError(t, a.DeleteUser(ctx, "alice"))
	_, err = a.Authenticate(request(bearer(tok)))
	require.ErrorIs(t, err, server.ErrUnauthenticated, "a deleted user's token")
	_, err = a.Authenticate(request(basic("alice", "correct horse")))
	require.ErrorIs(t, err, server.ErrUnauthenticated, "a deleted user's password")
}

func TestAuthorize(t *testing.T) {
	a := newAuth(t, newStore(t))
	for _, u := range []string{"olive", "mike", "gus", "otto"} {
		_, _, err := a.CreateUser(ctx, u, false, "")
		require.NoError(t, err)
	}
	_, _, err := a.CreateUser(ctx, "root", true, "")
	require.NoError(t, err)
	_, err = a.CreateProject(ctx, "priv", "olive", false)
	require.NoError(t, err)
	_, err = a.CreateProject(ctx, "pub", "olive", true)
	require.NoError(t, err)
	for _, p := range []string{"priv", "pub"} {
		_, err = a.SetMember(ctx, p, "mike", server.RoleMaintainer)
		require.NoError(t, err)
		_, err = a.SetMember(ctx, p, "gus", server.RoleGuest)
		require.NoError(t, err)
	}
	anon := server.Principal{}
	user := func(n string) server.Principal { return server.Principal{User: n} }
	admin := server.Principal{User: "root", Admin: true}
	acts := []server.Action{server.ActionPull, server.ActionPush, server.ActionDelete, server.ActionManage}
	// want per action, in the order of acts: "" allowed, else the error.
	type want [4]error
	ok, unauth, forb, noproj := error(nil), server.ErrUnauthenticated, server.ErrForbidden, server.ErrNoProject
	for _, tc := range []struct {
		p       server.Principal
		project string
		want    want
	}{
		{anon, "priv", want{unauth, unauth, unauth, unauth}},
		{anon, "pub", want{ok, unauth, unauth, unauth}},
		{anon, "nope", want{unauth, unauth, unauth, unauth}},
		{user("otto"), "priv", want{forb, forb, forb, forb}},
		{user("otto"), "pub", want{ok, forb, forb, forb}},
		{user("otto"), "nope", want{forb, forb, forb, forb}},
		{user("gus"), "priv", want{ok, forb, forb, forb}},
		{user("mike"), "priv", want{ok, ok, ok, forb}},
		{user("olive"), "priv", want{ok, ok, ok, ok}},
		{admin, "priv", want{ok, ok, ok, ok}},
		{admin, "nope", want{noproj, noproj, noproj, noproj}},
	} {
		for i, act := range acts {
			err := a.Authorize(ctx, tc.p, tc.project, act)
			name := fmt.Sprintf("%q %s %s", tc.p.User, act, tc.project)
			if tc.want[i] == nil {
				assert.NoError(t, err, name)
			} else {
				assert.ErrorIs(t, err, tc.want[i], name)
			}
		}
	}
}

// Two Auths over one store are two servers behind one bucket: each sees
// the other's users, tokens, passwords and revocations at once.
func TestTwoServersShareOneStore(t *testing.T) {
	s := newStore(t)
	a, b := newAuth(t, s), newAuth(t, s)
	_, tok, err := a.CreateUser(ctx, "alice", false, "")
	require.NoError(t, err)
	p, err := b.Authenticate(request(bearer(tok)))
	require.NoError(t, err)
	assert.Equal(t, "alice", p.User)

	require.NoError(t, b.SetPassword(ctx, "alice", "a long password"))
	_, err = a.Authenticate(request(basic("alice", "a long password")))
	require.NoError(t, err)

	_, _, err = b.CreateUser(ctx, "alice", false, "")
	require.ErrorIs(t, err, server.ErrConflict)

	toks, err := b.ListTokens(ctx, "alice")
	require.NoError(t, err)
	require.Len(t, toks, 1)
	require.NoError(t, b.RevokeToken(ctx, "alice", toks[0].ID))
	_, err = a.Authenticate(request(bearer(tok)))
	require.ErrorIs(t, err, server.ErrUnauthenticated)

	_, err = a.CreateProject(ctx, "p1", "alice", false)
	require.NoError(t, err)
	require.NoError(t, b.Authorize(ctx, server.Principal{User: "alice"}, "p1", server.ActionManage))
}

// Concurrent member updates through two servers lose none.
func TestConcurrentMemberUpdates(t *testing.T) {
	s := newStore(t)
	a, b := newAuth(t, s), newAuth(t, s)
	const n = 24
	for i := 0; i < n; i++ {
		_, _, err := a.CreateUser(ctx, fmt.Sprintf("u%d", i), false, "")
		require.NoError(t, err)
	}
	_, err := a.CreateProject(ctx, "team", "u0", false)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 1; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv := a
			if i%2 == 1 {
				srv = b
			}
			_, errs[i] = srv.SetMember(ctx, "team", fmt.Sprintf("u%d", i), server.RoleGuest)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	p, err := b.Project(ctx, "team")
	require.NoError(t, err)
	require.Len(t, p.Members, n)
	assert.Equal(t, server.RoleOwner, p.Role("u0"))
	for i := 1; i < n; i++ {
		assert.Equal(t, server.RoleGuest, p.Role(fmt.Sprintf("u%d", i)))
	}
}

// The store holds neither tokens nor passwords: only their hashes.
func TestStoredFormHasNoSecrets(t *testing.T) {
	s := newStore(t)
	a := newAuth(t, s)
	const pw = "s3cret-passw0rd"
	_, tok, err := a.CreateUser(ctx, "alice", false, pw)
	require.NoError(t, err)
	_, tok2, err := a.CreateToken(ctx, "alice", "ci", time.Time{})
	require.NoError(t, err)
	created, err := a.Bootstrap(ctx, "swt_admin-token-from-env-0123456789")
	require.NoError(t, err)
	assert.False(t, created, "the store has users: no admin")

	var files int
	err = filepath.WalkDir(s.Root(), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, secret := range []string{tok, tok2, pw, strings.TrimPrefix(tok, "swt_")} {
			assert.NotContains(t, string(data), secret, path)
		}
		return nil
	})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, files, 3)
	data, err := os.ReadFile(filepath.Join(s.Root(), "auth", "users", "alice.json"))
	require.NoError(t, err)
	assert.Contains(t, string(data), `"password":"$2a$`, "a bcrypt hash")
}

func TestBootstrap(t *testing.T) {
	s := newStore(t)
	a, b := newAuth(t, s), newAuth(t, s)
	const tok = "swt_0123456789abcdef0123456789abcdef"
	created, err := a.Bootstrap(ctx, tok)
	require.NoError(t, err)
	assert.True(t, created)
	created, err = b.Bootstrap(ctx, "swt_another-token-0123456789")
	require.NoError(t, err)
	assert.False(t, created)
	p, err := b.Authenticate(request(bearer(tok)))
	require.NoError(t, err)
	assert.Equal(t, server.Principal{User: "admin", Admin: true}, p)
	proj, err := b.Project(ctx, "self")
	require.NoError(t, err)
	assert.Equal(t, server.RoleOwner, proj.Role("admin"))
	assert.ErrorIs(t, a.DeleteProject(ctx, "self", func(context.Context) (bool, error) { return true, nil }), server.ErrConflict)

	_, err = newAuth(t, newStore(t)).Bootstrap(ctx, "short")
	require.ErrorIs(t, err, server.ErrInvalid, "a guessable admin token is refused")
}

func TestProjectRules(t *testing.T) {
	a := newAuth(t, newStore(t))
	for _, u := range []string{"olive", "mike"} {
		_, _, err := a.CreateUser(ctx, u, false, "")
		require.NoError(t, err)
	}
	_, err := a.CreateProject(ctx, "p", "olive", false)
	require.NoError(t, err)
	_, err = a.CreateProject(ctx, "p", "mike", false)
	require.ErrorIs(t, err, server.ErrConflict)
	_, err = a.CreateProject(ctx, "Bad/Name", "olive", false)
	require.ErrorIs(t, err, server.ErrInvalid)
	_, err = a.SetMember(ctx, "p", "mike", "boss")
	require.ErrorIs(t, err, server.ErrInvalid)
	_, err = a.SetMember(ctx, "p", "nobody", server.RoleGuest)
	require.ErrorIs(t, err, server.ErrNotFound)
	_, err = a.SetMember(ctx, "p", "olive", server.RoleGuest)
	require.ErrorIs(t, err, server.ErrConflict, "the last owner cannot step down")
	_, err = a.RemoveMember(ctx, "p", "olive")
	require.ErrorIs(t, err, server.ErrConflict, "the last owner cannot leave")
	_, err = a.SetMember(ctx, "p", "mike", server.RoleOwner)
	require.NoError(t, err)
	proj, err := a.RemoveMember(ctx, "p", "olive")
	require.NoError(t, err)
	assert.Equal(t, []server.Member{{User: "mike", Role: server.RoleOwner}}, proj.Members)

	require.ErrorIs(t, a.DeleteProject(ctx, "p", func(context.Context) (bool, error) { return false, nil }), server.ErrConflict)
	require.NoError(t, a.DeleteProject(ctx, "p", func(context.Context) (bool, error) { return true, nil }))
	_, err = a.Project(ctx, "p")
	require.ErrorIs(t, err, server.ErrNoProject)

	require.ErrorIs(t, a.SetPassword(ctx, "mike", "short"), server.ErrInvalid)
	require.ErrorIs(t, a.RevokeToken(ctx, "mike", "zz"), server.ErrInvalid)
	require.ErrorIs(t, a.RevokeToken(ctx, "mike", "0123456789abcdef"), server.ErrNotFound)
}
