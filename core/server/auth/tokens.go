package auth

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/swcli/swcli/core/server"
)

type tokenRecord struct {
	Hash    string     `json:"hash"` // hex sha256 of the token
	User    string     `json:"user"`
	UserID  string     `json:"user_id"` // the account's userRecord.ID
	Name    string     `json:"name"`
	Created time.Time  `json:"created"`
	Expires *time.Time `json:"expires,omitempty"`
}

// idLen is how many hex characters of the hash name a token.
const idLen = 16

func (t tokenRecord) id() string { return t.Hash[:idLen] }

func (t tokenRecord) public() server.Token {
	out := server.Token{ID: t.id(), Name: t.Name, User: t.User, Created: t.Created}
	if t.Expires != nil {
		out.Expires = *t.Expires
	}
	return out
}

// minTokenLen refuses guessable tokens (SW_SERVER_ADMIN_TOKEN is chosen by
// a person).
const minTokenLen = 16

// CreateToken implements server.Accounts.
func (a *Auth) CreateToken(ctx context.Context, user, name string, expires time.Time) (server.Token, string, error) {
	u, err := a.user(ctx, user)
	if err != nil {
		return server.Token{}, "", err
	}
	if err := checkName("token", name); err != nil {
		return server.Token{}, "", err
	}
	if !expires.IsZero() && !expires.After(a.now()) {
		return server.Token{}, "", fail(server.ErrInvalid, "token %s: expiry %s is in the past", name, expires.Format(time.RFC3339))
	}
	token, err := server.NewToken()
	if err != nil {
		return server.Token{}, "", err
	}
	t, err := a.addToken(ctx, u, name, token, expires)
	return t, token, err
}

func (a *Auth) addToken(ctx context.Context, u userRecord, name, token string, expires time.Time) (server.Token, error) {
	if len(token) < minTokenLen {
		return server.Token{}, fail(server.ErrInvalid, "a token must be at least %d characters long", minTokenLen)
	}
	rec := tokenRecord{Hash: hashToken(token), User: u.Name, UserID: u.ID, Name: name, Created: a.now()}
	if !expires.IsZero() {
		e := expires.UTC()
		rec.Expires = &e
	}
	err := a.create(ctx, tokenKey(rec.Hash), rec)
	if isPrecondition(err) {
		return server.Token{}, fail(server.ErrConflict, "this token is already in use")
	}
	if err != nil {
		return server.Token{}, fmt.Errorf("auth: store token %s of %s: %w", name, u.Name, err)
	}
	return rec.public(), nil
}

// tokenRecords reads the tokens of user (all of them when user is "").
func (a *Auth) tokenRecords(ctx context.Context, user string) ([]tokenRecord, error) {
	all, err := records[tokenRecord](ctx, a, tokensPrefix)
	if err != nil {
		return nil, err
	}
	var out []tokenRecord
	for _, rec := range all {
		if len(rec.Hash) == sha256Hex && (user == "" || rec.User == user) {
			out = append(out, rec)
		}
	}
	return out, nil
}

// sha256Hex is the length of a token hash.
const sha256Hex = 64

// ListTokens implements server.Accounts.
func (a *Auth) ListTokens(ctx context.Context, user string) ([]server.Token, error) {
	recs, err := a.tokenRecords(ctx, user)
	if err != nil {
		return nil, err
	}
	out := make([]server.Token, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.public())
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// RevokeToken implements server.Accounts: id is a token's id; tokens of
// other users are not found.
func (a *Auth) RevokeToken(ctx context.Context, user, id string) error {
	id = strings.ToLower(id)
	if len(id) != idLen || strings.Trim(id, "0123456789abcdef") != "" {
		return fail(server.ErrInvalid, "invalid token id %q; allowed: the %d hex characters `token list` shows", id, idLen)
	}
	recs, err := a.tokenRecords(ctx, user)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.id() == id {
			if err := a.remove(ctx, tokenKey(r.Hash)); err != nil {
				return fmt.Errorf("auth: revoke token %s: %w", id, err)
			}
			return nil
		}
	}
	return fail(server.ErrNotFound, "user %s has no token %s", user, id)
}
