package console

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/server"
)

// errNotFound is the one answer for a project, runtime or version that does
// not exist or that the visitor may not read: the same page, byte for byte.
var errNotFound = errors.New("not found")

// notFoundMessage is the whole message of the 404 page: it names nothing.
const notFoundMessage = "There is no such page, or you may not see it. Projects, runtimes and versions you cannot read look the same as ones that do not exist."

// refusal: the visitor may read the project but lacks the role for action.
type refusal struct {
	project   string
	action    server.Action
	anonymous bool
}

func (e *refusal) Error() string {
	if e.project == "" {
		return "Sign in first."
	}
	if e.anonymous {
		return fmt.Sprintf("Sign in to %s in project %s.", e.action, e.project)
	}
	need := "a maintainer or owner"
	if e.action == server.ActionManage {
		need = "an owner"
	}
	return fmt.Sprintf("Your role in project %s does not allow %s: you must be %s.", e.project, e.action, need)
}

// inputError is bad input in a form: Status (400 or 409) and a message
// that says what is wrong and what is allowed.
type inputError struct {
	Status int
	Msg    string
}

func (e *inputError) Error() string { return e.Msg }

func badInput(format string, args ...any) error {
	return &inputError{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...)}
}

// errCSRF: a state-changing form came without the right CSRF token.
var errCSRF = errors.New("This form has expired or did not come from this console (its CSRF token is missing or wrong), so nothing was changed. Reload the page and try again.")

// errSignIn: the credentials given at /login are wrong.
var errSignIn = errors.New("The user name and password, or the token, are wrong, revoked or expired.")

// errSession: the session cookie names a token that expired or was revoked.
var errSession = errors.New("Your session has expired or was signed out. Sign in again.")

// hide maps what Authorize says about reading to errNotFound, keeping only
// errors that are not about who may read (a store failure).
func hide(err error) error {
	if errors.Is(err, server.ErrForbidden) || errors.Is(err, server.ErrUnauthenticated) ||
		errors.Is(err, server.ErrNoProject) || errors.Is(err, server.ErrInvalid) || errors.Is(err, server.ErrNotFound) {
		return errNotFound
	}
	var nf *registry.NotFoundError
	var inv *registry.InvalidNameError
	var amb *registry.AmbiguousError
	if errors.As(err, &nf) || errors.As(err, &inv) || errors.As(err, &amb) {
		return errNotFound
	}
	return err
}

// changeError maps an error of a change (tag, remove, member...) to what
// the visitor is told.
func changeError(err error) error {
	var (
		reserved *registry.ReservedTagError
		exists   *registry.TagExistsError
		noTag    *registry.TagNotFoundError
		notRem   *registry.NotRemovedError
		inv      *registry.InvalidNameError
		amb      *registry.AmbiguousError
		nf       *registry.NotFoundError
	)
	switch {
	case errors.As(err, &reserved), errors.As(err, &inv), errors.As(err, &amb), errors.Is(err, server.ErrInvalid):
		return &inputError{Status: http.StatusBadRequest, Msg: err.Error()}
	case errors.As(err, &exists), errors.As(err, &notRem), errors.Is(err, server.ErrConflict):
		return &inputError{Status: http.StatusConflict, Msg: err.Error()}
	case errors.As(err, &noTag), errors.As(err, &nf), errors.Is(err, server.ErrNotFound):
		return &inputError{Status: http.StatusNotFound, Msg: err.Error()}
	}
	return err
}

// writeError answers err as a page with the right status.
func (c *Console) writeError(w http.ResponseWriter, r *http.Request, v *visitor, err error) {
	status, title, msg := http.StatusInternalServerError, "Something went wrong", "The server could not answer; the error is in its log."
	var ref *refusal
	var in *inputError
	switch {
	case errors.Is(err, errNotFound):
		status, title, msg = http.StatusNotFound, "Not found", notFoundMessage
	case errors.As(err, &ref):
		status, title, msg = http.StatusForbidden, "Not allowed", ref.Error()
	case errors.As(err, &in):
		status, title, msg = in.Status, "Not done", in.Msg
	case errors.Is(err, errCSRF):
		status, title, msg = http.StatusForbidden, "Not done", err.Error()
	case errors.Is(err, errSignIn), errors.Is(err, errSession):
		c.renderLogin(w, r, v, http.StatusUnauthorized, err.Error())
		return
	default:
		c.log.Error("console page failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	if ref != nil && ref.anonymous {
		status = http.StatusUnauthorized
	}
	if rerr := c.render(w, status, "error", page{Title: title, V: v, Data: msg}); rerr != nil {
		http.Error(w, msg, status)
	}
}
