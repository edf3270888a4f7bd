package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/swcli/swcli/core/server"
)

type userRecord struct {
	Name string `json:"name"`
	// ID is random per account: tokens name it, so a token left behind by
	// a deleted user never works for a new user of the same name.
	ID       string    `json:"id"`
	Admin    bool      `json:"admin,omitempty"`
	Password string    `json:"password,omitempty"` // bcrypt hash
	Created  time.Time `json:"created"`
}

func (u userRecord) public() server.User {
	return server.User{Name: u.Name, Admin: u.Admin, HasPassword: u.Password != "", Created: u.Created}
}

// Password limits: bcrypt reads at most 72 bytes.
const (
	minPassword = 8
	maxPassword = 72
)

func checkPassword(pw string) error {
	if len(pw) < minPassword || len(pw) > maxPassword {
		return fail(server.ErrInvalid, "a password must be %d to %d bytes long", minPassword, maxPassword)
	}
	return nil
}

func (a *Auth) user(ctx context.Context, name string) (userRecord, error) {
	var u userRecord
	if err := checkName("user", name); err != nil {
		return u, fail(server.ErrNotFound, "user %s not found", name)
	}
	_, err := a.read(ctx, userKey(name), &u)
	if isNotFound(err) {
		return u, fail(server.ErrNotFound, "user %s not found", name)
	}
	return u, err
}

func (a *Auth) hashPassword(pw string) (string, error) {
	if err := checkPassword(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), a.cost)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return string(h), nil
}

// CreateUser implements server.Accounts.
func (a *Auth) CreateUser(ctx context.Context, name string, admin bool, password string) (server.User, string, error) {
	token, err := server.NewToken()
	if err != nil {
		return server.User{}, "", err
	}
	u, err := a.createUser(ctx, name, admin, password, token)
	return u, token, err
}

// createUser writes the user record, then its first token. The record goes
// first with IfNoneMatch: of two servers creating the same user, one wins.
func (a *Auth) createUser(ctx context.Context, name string, admin bool, password, token string) (server.User, error) {
	if err := checkName("user", name); err != nil {
		return server.User{}, err
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return server.User{}, err
	}
	rec := userRecord{Name: name, ID: hex.EncodeToString(id[:]), Admin: admin, Created: a.now()}
	if password != "" {
		h, err := a.hashPassword(password)
		if err != nil {
			return server.User{}, err
		}
		rec.Password = h
	}
	err := a.create(ctx, userKey(name), rec)
	if isPrecondition(err) {
		return server.User{}, fail(server.ErrConflict, "user %s already exists", name)
	}
	if err != nil {
		return server.User{}, fmt.Errorf("auth: create user %s: %w", name, err)
	}
	if _, err := a.addToken(ctx, rec, "default", token, time.Time{}); err != nil {
		return server.User{}, err
	}
	return rec.public(), nil
}

// ListUsers implements server.Accounts.
func (a *Auth) ListUsers(ctx context.Context) ([]server.User, error) {
	recs, err := records[userRecord](ctx, a, usersPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]server.User, 0, len(recs))
	for _, u := range recs {
		out = append(out, u.public())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// SetPassword implements server.Accounts.
func (a *Auth) SetPassword(ctx context.Context, name, password string) error {
	if _, err := a.user(ctx, name); err != nil {
		return err
	}
	h, err := a.hashPassword(password)
	if err != nil {
		return err
	}
	_, err = update(ctx, a, userKey(name), func(u *userRecord, exists bool) (bool, error) {
		if !exists {
			return false, fail(server.ErrNotFound, "user %s not found", name)
		}
		u.Password = h
		return true, nil
	})
	return err
}

// DeleteUser implements server.Accounts: memberships first, then tokens,
// then the record, so a delete cut short leaves a user that a re-run
// finishes deleting (and tokens left behind name the old account's ID).
func (a *Auth) DeleteUser(ctx context.Context, name string) error {
	if _, err := a.user(ctx, name); err != nil {
		return err
	}
	projects, err := a.keys(ctx, projectsPrefix)
	if err != nil {
		return err
	}
	for _, p := range projects {
		_, err := update(ctx, a, projectKey(p), func(rec *projectRecord, exists bool) (bool, error) {
			if !exists || rec.Role(name) == "" {
				return false, nil
			}
			rec.Members = without(rec.Members, name)
			return true, nil
		})
		if err != nil {
			return fmt.Errorf("auth: delete user %s: leave project %s: %w", name, p, err)
		}
	}
	toks, err := a.tokenRecords(ctx, name)
	if err != nil {
		return err
	}
	for _, t := range toks {
		if err := a.remove(ctx, tokenKey(t.Hash)); err != nil {
			return fmt.Errorf("auth: delete user %s: revoke token %s: %w", name, t.id(), err)
		}
	}
	if err := a.remove(ctx, userKey(name)); err != nil {
		return fmt.Errorf("auth: delete user %s: %w", name, err)
	}
	return nil
}
