package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"
)

// Accounts is the Access that also keeps users, tokens, projects and
// members: what /api/v1 manages. The auth subpackage implements it over the
// store (no server-local state), so any number of servers on one store see
// every change at once.
//
// Errors wrap one of the sentinels below (or ErrNoProject,
// ErrUnauthenticated, ErrForbidden) and carry a message that names what is
// wrong and never a credential. Methods do not check who calls them: the
// /api/v1 handlers ask Authorize (or Principal.Admin) first.
//
//   - Names of users and projects follow the runtime name rule
//     (spec.ValidateName); a bad one gives ErrInvalid.
//   - CreateUser returns the user's first token (named "default"), which is
//     never stored or shown again; CreateToken likewise. Tokens are stored
//     only as a hash.
//   - CreateProject makes owner the project's owner. DeleteProject refuses
//     (ErrConflict) a project with runtimes (removed versions included) and
//     the default project "self". RemoveMember and SetMember refuse to leave
//     a project without an owner (ErrConflict).
//   - DeleteUser also revokes the user's tokens and removes them from every
//     project.
//   - Bootstrap makes sure project "self" exists and, when the store has no
//     user yet, creates the admin user "admin" (Admin) with token adminToken;
//     created is false when users existed (or another server created the
//     admin at the same moment).
type Accounts interface {
	Access

	ListProjects(ctx context.Context, p Principal) ([]Project, error)
	Project(ctx context.Context, name string) (Project, error)
	CreateProject(ctx context.Context, name, owner string, public bool) (Project, error)
	SetPublic(ctx context.Context, name string, public bool) (Project, error)
	DeleteProject(ctx context.Context, name string, empty func(ctx context.Context) (bool, error)) error
	SetMember(ctx context.Context, project, user string, role Role) (Project, error)
	RemoveMember(ctx context.Context, project, user string) (Project, error)

	CreateUser(ctx context.Context, name string, admin bool, password string) (User, string, error)
	ListUsers(ctx context.Context) ([]User, error)
	SetPassword(ctx context.Context, name, password string) error
	DeleteUser(ctx context.Context, name string) error

	CreateToken(ctx context.Context, user, name string, expires time.Time) (Token, string, error)
	ListTokens(ctx context.Context, user string) ([]Token, error)
	RevokeToken(ctx context.Context, user, id string) error

	Bootstrap(ctx context.Context, adminToken string) (created bool, err error)
}

// Role is what a user may do in a project: guest pulls, maintainer also
// pushes and deletes, owner also manages members and visibility.
type Role string

const (
	RoleGuest      Role = "guest"
	RoleMaintainer Role = "maintainer"
	RoleOwner      Role = "owner"
)

// Allows reports whether the role permits a.
func (r Role) Allows(a Action) bool {
	switch r {
	case RoleOwner:
		return true
	case RoleMaintainer:
		return a == ActionPull || a == ActionPush || a == ActionDelete
	case RoleGuest:
		return a == ActionPull
	}
	return false
}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r == RoleGuest || r == RoleMaintainer || r == RoleOwner }

// RoleRule says what a role may be; it ends every role error.
const RoleRule = "allowed: owner, maintainer, guest"

// Project is a namespace of runtimes with its visibility and members.
type Project struct {
	Name    string    `json:"name"`
	Public  bool      `json:"public"`
	Created time.Time `json:"created"`
	Members []Member  `json:"members"`
}

// Role returns the role of user in p, or "".
func (p Project) Role(user string) Role {
	for _, m := range p.Members {
		if m.User == user {
			return m.Role
		}
	}
	return ""
}

// Member is a user's role in a project.
type Member struct {
	User string `json:"user"`
	Role Role   `json:"role"`
}

// User is an account as listed: never its password or tokens.
type User struct {
	Name        string    `json:"name"`
	Admin       bool      `json:"admin"`
	HasPassword bool      `json:"has_password"`
	Created     time.Time `json:"created"`
}

// Token is a token as listed: its id, never its secret.
type Token struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	User    string    `json:"user"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"`
}

var (
	// ErrInvalid: a bad name, role, password or value (400).
	ErrInvalid = errors.New("invalid")
	// ErrNotFound: no such user, token or member (404).
	ErrNotFound = errors.New("not found")
	// ErrConflict: exists already, not empty, or would leave no owner (409).
	ErrConflict = errors.New("conflict")
)

// tokenPrefix marks swcli tokens, so secret scanners can find leaked ones.
const tokenPrefix = "swt_"

// NewToken returns a fresh token: "swt_" and 32 random bytes in hex. It is
// the one place the token format is written.
func NewToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return tokenPrefix + hex.EncodeToString(b[:]), nil
}
