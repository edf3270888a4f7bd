// Package server is the cloud instance: `swcli server start` serves the OCI
// distribution API at /v2/, a JSON API at /api/v1/ and a web console at /,
// all over one core/registry on one core/store. It keeps no state outside its
// store (users, tokens, projects and upload sessions included), so several
// servers can share one bucket.
//
// Who may do what is decided by an Access (access.go), implemented by the
// auth subpackage over the store; the /v2 handlers (oci*.go) and /api/v1
// handlers ask it on every request and never read credentials themselves.
package server

import (
	"context"
	"errors"
	"net/http"
)

// Action is what a request wants to do in a project.
type Action int

const (
	// ActionPull reads: manifests, blobs, tags, referrers, listings.
	ActionPull Action = iota + 1
	// ActionPush writes: blob uploads, manifest puts, tags.
	ActionPush
	// ActionDelete removes: manifests/versions, tags, blobs; recovers.
	ActionDelete
	// ActionManage changes the project itself: members, visibility.
	ActionManage
)

func (a Action) String() string {
	switch a {
	case ActionPull:
		return "pull"
	case ActionPush:
		return "push"
	case ActionDelete:
		return "delete"
	case ActionManage:
		return "manage"
	}
	return "unknown"
}

// Principal is who a request comes from. The zero value is the anonymous
// visitor.
type Principal struct {
	// User is the user name; "" for anonymous.
	User string
	// Admin may do everything on every project and manage users.
	Admin bool
}

// Anonymous reports whether no credentials were given.
func (p Principal) Anonymous() bool { return p.User == "" }

// Access decides who a request comes from and what they may do.
//
// Authenticate reads the request's credentials: "Authorization: Bearer
// TOKEN", or "Authorization: Basic" with any user name and a token as the
// password, or a user name and that user's password (as GHCR and Harbor
// accept, so docker login, oras and crane work). No credentials give the
// anonymous Principal and a nil error. Credentials that are wrong, revoked or
// expired give an error wrapping ErrUnauthenticated; the error never contains
// the credential.
//
// Authorize says whether p may do a in project: nil when allowed. Anonymous
// may pull from public projects only. Roles per project: guest pulls,
// maintainer also pushes and deletes, owner also manages; admin does all.
// It returns an error wrapping ErrUnauthenticated when p is anonymous and
// would need to sign in (the handler answers 401 with a challenge),
// ErrForbidden when p is known but lacks the role (403), and ErrNoProject
// when the project does not exist and p is an admin (404). Everyone else
// asking about a missing project gets the answer of a private project they
// are not in (ErrUnauthenticated when anonymous, else ErrForbidden), never
// ErrNoProject, so names do not leak. Authorize never creates a project:
// projects are created through /api/v1 (and "self" by the server's first
// start). A project name that breaks the name rule gives an error wrapping
// ErrInvalid (400).
//
// An Access may answer from a short-lived cache of what it read (a change
// made through another server sharing the store then takes effect within
// that time); a context marked by Fresh asks it to read the store itself.
type Access interface {
	Authenticate(r *http.Request) (Principal, error)
	Authorize(ctx context.Context, p Principal, project string, a Action) error
}

type freshKey struct{}

// Fresh marks ctx so that an Access answers from the store, not a cache:
// the console uses it on every page, so a sign-out or a revoke on one
// server ends a session on every server at once (pages are few; the hot
// /v2 and /api/v1 paths keep the cache).
func Fresh(ctx context.Context) context.Context { return context.WithValue(ctx, freshKey{}, true) }

// IsFresh reports whether ctx was marked by Fresh.
func IsFresh(ctx context.Context) bool { v, _ := ctx.Value(freshKey{}).(bool); return v }

var (
	// ErrUnauthenticated: credentials missing (where needed) or wrong.
	ErrUnauthenticated = errors.New("authentication required")
	// ErrForbidden: known user without the role.
	ErrForbidden = errors.New("forbidden")
	// ErrNoProject: the project does not exist.
	ErrNoProject = errors.New("project not found")
)
