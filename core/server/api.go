package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/hashicorp/go-hclog"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/spec"
)

// The /api/v1 JSON API: projects, members, runtimes, versions, tags, users,
// tokens (see the README's "Cloud instance" section for every route). Every
// handler authenticates first (wrong credentials are 401 on every route),
// then asks Authorize for the project it touches; runtimes, versions and
// tags go through core/registry's exported API only.

// maxAPIBody limits a request body: every /api/v1 body is a small JSON object.
const maxAPIBody = 64 << 10

type api struct {
	acc Accounts
	reg *registry.Registry
	log hclog.Logger
}

// apiFunc handles one route for an authenticated (or anonymous) caller and
// returns the status and JSON body, or an error that apiError maps.
type apiFunc func(r *http.Request, p Principal) (int, any, error)

// newAPI returns the handler of /api/v1/.
func newAPI(acc Accounts, reg *registry.Registry, log hclog.Logger) http.Handler {
	a := &api{acc: acc, reg: reg, log: log}
	mux := http.NewServeMux()
	routes := map[string]apiFunc{
		"GET /api/v1/whoami": a.whoami,

		"GET /api/v1/projects":                             a.listProjects,
		"POST /api/v1/projects":                            a.createProject,
		"GET /api/v1/projects/{project}":                   a.projectInfo,
		"PATCH /api/v1/projects/{project}":                 a.updateProject,
		"DELETE /api/v1/projects/{project}":                a.deleteProject,
		"GET /api/v1/projects/{project}/members":           a.listMembers,
		"PUT /api/v1/projects/{project}/members/{user}":    a.setMember,
		"DELETE /api/v1/projects/{project}/members/{user}": a.removeMember,

		"GET /api/v1/projects/{project}/runtimes":                                       a.listRuntimes,
		"DELETE /api/v1/projects/{project}/runtimes/{runtime}":                          a.removeRuntime,
		"GET /api/v1/projects/{project}/runtimes/{runtime}/versions":                    a.listVersions,
		"GET /api/v1/projects/{project}/runtimes/{runtime}/versions/{version}":          a.versionInfo,
		"DELETE /api/v1/projects/{project}/runtimes/{runtime}/versions/{version}":       a.removeVersion,
		"POST /api/v1/projects/{project}/runtimes/{runtime}/versions/{version}/recover": a.recoverVersion,
		"POST /api/v1/projects/{project}/runtimes/{runtime}/versions/{version}/tags":    a.addTags,
		"DELETE /api/v1/projects/{project}/runtimes/{runtime}/tags/{tag}":               a.removeTag,

		"GET /api/v1/users":                 a.listUsers,
		"POST /api/v1/users":                a.createUser,
		"PUT /api/v1/users/{user}/password": a.setPassword,
		"DELETE /api/v1/users/{user}":       a.deleteUser,

		"GET /api/v1/tokens":         a.listTokens,
		"POST /api/v1/tokens":        a.createToken,
		"DELETE /api/v1/tokens/{id}": a.revokeToken,
	}
	for pattern, fn := range routes {
		mux.Handle(pattern, a.handle(fn))
	}
	mux.Handle("/api/v1/", a.handle(func(r *http.Request, _ Principal) (int, any, error) {
		return 0, nil, &apiError{http.StatusNotFound, "not_found", fmt.Sprintf("no route %s %s", r.Method, r.URL.Path)}
	}))
	return mux
}

// handle authenticates, runs fn and writes its answer as JSON.
func (a *api) handle(fn apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxAPIBody)
		p, err := a.acc.Authenticate(r)
		if err == nil {
			noteUser(r.Context(), p)
			var (
				status int
				body   any
			)
			status, body, err = fn(r, p)
			if err == nil {
				writeJSON(w, status, body)
				return
			}
		}
		a.writeError(w, r, err)
	})
}

// answer turns a value and an error into a handler's result: 200 and the
// value, or the error.
func answer[T any](v T, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if body != nil {
		_ = json.NewEncoder(w).Encode(body)
	}
}

// decode reads the JSON body into v: unknown fields and trailing data are
// bad input.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return badRequest("the request needs a JSON body")
		}
		return badRequest("request body: %v", err)
	}
	if dec.More() {
		return badRequest("request body: more than one JSON value")
	}
	return nil
}

// flag reads a boolean query parameter (absent is false).
func flag(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("query parameter %s=%q is not a boolean; allowed: true, false", name, v)
	}
	return b, nil
}

// checkName applies the runtime name rule to a name from the path or body.
func checkName(kind, name string) error {
	if spec.ValidateName(name) != nil {
		return badRequest("invalid %s name %q; %s", kind, name, spec.NameRule)
	}
	return nil
}

// signedIn refuses anonymous callers.
func signedIn(p Principal) error {
	if p.Anonymous() {
		return &apiError{http.StatusUnauthorized, "unauthorized", "sign in: send Authorization: Bearer TOKEN"}
	}
	return nil
}

// adminOnly refuses callers who are not admins.
func adminOnly(p Principal) error {
	if err := signedIn(p); err != nil {
		return err
	}
	if !p.Admin {
		return &apiError{http.StatusForbidden, "forbidden", "only an admin may manage users"}
	}
	return nil
}
