package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/swcli/swcli/core/server"
	"github.com/swcli/swcli/core/spec"
	"github.com/swcli/swcli/core/store"
)

// Auth is server.Accounts over a store. Its only state is a short-lived
// cache of what tokens and projects resolved to (see WithCacheTTL).
type Auth struct {
	s     store.Store
	cost  int
	now   func() time.Time
	ttl   time.Duration
	cache *cache
	// dummy is a bcrypt hash compared against when a user has no password
	// or does not exist, so the answer takes as long either way.
	dummy []byte
}

var _ server.Accounts = (*Auth)(nil)

// Option changes how New sets up Auth.
type Option func(*Auth)

// WithBcryptCost sets the bcrypt cost of new password hashes (tests use
// bcrypt.MinCost); the default is bcrypt.DefaultCost.
func WithBcryptCost(cost int) Option { return func(a *Auth) { a.cost = cost } }

// WithClock sets the clock used for created times and token expiry.
func WithClock(now func() time.Time) Option { return func(a *Auth) { a.now = now } }

// WithCacheTTL sets how long a token's principal and a project's record
// are trusted once read (DefaultCacheTTL unless set; 0 turns the cache
// off). A revoke, a deleted user or a changed role made on another server
// sharing the store takes effect here within ttl; made on this server, at
// once.
func WithCacheTTL(ttl time.Duration) Option { return func(a *Auth) { a.ttl = ttl } }

// New returns an Auth on s.
func New(s store.Store, opts ...Option) (*Auth, error) {
	a := &Auth{s: s, cost: bcrypt.DefaultCost, now: func() time.Time { return time.Now().UTC() }, ttl: DefaultCacheTTL}
	for _, o := range opts {
		o(a)
	}
	a.cache = newCache(a.ttl, a.now)
	dummy, err := bcrypt.GenerateFromPassword([]byte("no password here"), a.cost)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	a.dummy = dummy
	return a, nil
}

// Error is what Auth returns for a refusal: Kind is one of the server
// sentinels (errors.Is works), Msg says what is wrong without a credential.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

func fail(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

var errBadCredentials = fail(server.ErrUnauthenticated, "the token or password is wrong, revoked or expired")

// Authenticate implements server.Access: Bearer TOKEN, or Basic with any
// user name and a token as password, or a user name and its password.
func (a *Auth) Authenticate(r *http.Request) (server.Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return server.Principal{}, nil
	}
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	ctx := r.Context()
	switch strings.ToLower(scheme) {
	case "bearer":
		if cred == "" {
			return server.Principal{}, errBadCredentials
		}
		return a.byToken(ctx, cred)
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return server.Principal{}, fail(server.ErrUnauthenticated, "the Basic credentials are not base64")
		}
		user, secret, ok := strings.Cut(string(raw), ":")
		if !ok || secret == "" {
			return server.Principal{}, errBadCredentials
		}
		p, err := a.byToken(ctx, secret)
		if err == nil || !errors.Is(err, server.ErrUnauthenticated) {
			return p, err
		}
		return a.byPassword(ctx, user, secret)
	}
	return server.Principal{}, fail(server.ErrUnauthenticated, "authorization scheme %q is not supported; allowed: Bearer, Basic", scheme)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (a *Auth) byToken(ctx context.Context, token string) (server.Principal, error) {
	hash := hashToken(token)
	if p, ok := a.cache.token(hash); ok && !server.IsFresh(ctx) {
		return p, nil
	}
	gen := a.cache.generation()
	var rec tokenRecord
	_, err := a.read(ctx, tokenKey(hash), &rec)
	if isNotFound(err) {
		return server.Principal{}, errBadCredentials
	}
	if err != nil {
		return server.Principal{}, err
	}
	if subtle.ConstantTimeCompare([]byte(rec.Hash), []byte(hash)) != 1 {
		return server.Principal{}, errBadCredentials
	}
	if rec.Expires != nil && !a.now().Before(*rec.Expires) {
		return server.Principal{}, errBadCredentials
	}
	u, err := a.user(ctx, rec.User)
	if errors.Is(err, server.ErrNotFound) || (err == nil && u.ID != rec.UserID) {
		return server.Principal{}, errBadCredentials // the account is gone
	}
	if err != nil {
		return server.Principal{}, err
	}
	p := server.Principal{User: u.Name, Admin: u.Admin}
	a.cache.addToken(gen, hash, p, rec.Expires)
	return p, nil
}

func (a *Auth) byPassword(ctx context.Context, name, password string) (server.Principal, error) {
	hash := a.dummy
	u, err := a.user(ctx, name)
	switch {
	case err == nil && u.Password != "":
		hash = []byte(u.Password)
	case err != nil && !errors.Is(err, server.ErrNotFound):
		return server.Principal{}, err
	}
	// Compared even for a missing user: the same time either way.
	ok := bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
	if !ok || err != nil || u.Password == "" {
		return server.Principal{}, errBadCredentials
	}
	return server.Principal{User: u.Name, Admin: u.Admin}, nil
}

// Authorize implements server.Access. A project that does not exist is
// ErrNoProject only for admins; everyone else gets the answer they would
// get for a private project they are not in (ErrUnauthenticated when
// anonymous, else ErrForbidden), so names do not leak.
func (a *Auth) Authorize(ctx context.Context, p server.Principal, project string, act server.Action) error {
	if err := checkName("project", project); err != nil {
		return err
	}
	rec, err := a.cachedProject(ctx, project)
	exists := err == nil
	if err != nil && !errors.Is(err, server.ErrNoProject) {
		return err
	}
	switch {
	case p.Admin && !exists:
		return fail(server.ErrNoProject, "project %s not found", project)
	case p.Admin:
		return nil
	case exists && act == server.ActionPull && rec.Public:
		return nil
	case p.Anonymous():
		return fail(server.ErrUnauthenticated, "project %s: sign in to %s", project, act)
	case exists && rec.Role(p.User).Allows(act):
		return nil
	}
	return fail(server.ErrForbidden, "project %s: user %s may not %s", project, p.User, act)
}

// checkName applies the runtime name rule to user and project names.
func checkName(kind, name string) error {
	if spec.ValidateName(name) != nil {
		return fail(server.ErrInvalid, "invalid %s name %q; %s", kind, name, spec.NameRule)
	}
	return nil
}

// Store returns the store Auth keeps its records in.
func (a *Auth) Store() store.Store { return a.s }
