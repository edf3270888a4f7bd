package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/swcli/swcli/core/server"
)

const (
	// sessionCookie holds "<token id>.<token>" of the session's token.
	sessionCookie = "sw_session"
	// loginCookie holds the random CSRF value of the sign-in form.
	loginCookie = "sw_login"
	// sessionTokenName names the tokens sessions are made of.
	sessionTokenName = "console"
	// maxForm bounds a form body: every console form is a few short fields.
	maxForm = 64 << 10
)

// visitor is who a request comes from, and its session.
type visitor struct {
	P server.Principal
	// CSRF is the token every form of the page carries.
	CSRF string
	// tokenID and token are the session's; empty when anonymous.
	tokenID, token string
	// expired: the request carried a session that no longer works.
	expired bool
}

// role is what the pages show as the visitor's role in a project.
func (v *visitor) role(p server.Project) string {
	if v.P.Admin {
		return "admin"
	}
	return string(p.Role(v.P.User))
}

// visitor reads the session cookie and authenticates its token through
// Accounts; a token that no longer works clears the cookie and, on every
// page but /login, answers errSession.
func (c *Console) visitor(w http.ResponseWriter, r *http.Request) (*visitor, error) {
	v := &visitor{}
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		v.CSRF = c.loginCSRF(w, r)
		return v, nil
	}
	id, token, ok := strings.Cut(ck.Value, ".")
	if ok {
		v.P, err = c.authenticate(r, "Bearer "+token)
	}
	if !ok || err != nil {
		if ok && !errors.Is(err, server.ErrUnauthenticated) {
			return v, err
		}
		clearCookie(w, r, sessionCookie)
		v.expired, v.CSRF = true, c.loginCSRF(w, r)
		if r.URL.Path != "/login" {
			return v, errSession
		}
		return v, nil
	}
	v.tokenID, v.token, v.CSRF = id, token, sessionCSRF(token)
	return v, nil
}

// authenticate asks Accounts about credentials given as an Authorization
// header value, on a copy of r (r's own headers are never read: the
// console's only credential is its cookie).
func (c *Console) authenticate(r *http.Request, authorization string) (server.Principal, error) {
	req := r.Clone(r.Context()) // fresh: see ServeHTTP
	req.Header = http.Header{"Authorization": {authorization}}
	return c.acc.Authenticate(req)
}

// sessionCSRF is the CSRF token of a session: an HMAC keyed by the session
// token, so it needs no storage and only the cookie's holder can make it.
func sessionCSRF(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("swcli console csrf v1"))
	return hex.EncodeToString(m.Sum(nil))
}

// loginCSRF returns the sign-in form's CSRF value: the login cookie's, or a
// new random one set as the cookie.
func (c *Console) loginCSRF(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(loginCookie); err == nil && len(ck.Value) == 64 {
		return ck.Value
	}
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error (Go 1.24+)
	val := hex.EncodeToString(b[:])
	http.SetCookie(w, cookie(r, loginCookie, val, time.Time{}))
	return val
}

// checkCSRF refuses a POST whose "csrf" field is not v.CSRF.
func (c *Console) checkCSRF(r *http.Request, v *visitor) error {
	r.Body = http.MaxBytesReader(nil, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return badInput("The form could not be read: %v.", err)
	}
	got := r.PostForm.Get("csrf")
	if got == "" || v.CSRF == "" || subtle.ConstantTimeCompare([]byte(got), []byte(v.CSRF)) != 1 {
		return errCSRF
	}
	return nil
}

func cookie(r *http.Request, name, value string, expires time.Time) *http.Cookie {
	ck := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode}
	if !expires.IsZero() {
		ck.Expires = expires
		ck.MaxAge = int(time.Until(expires).Seconds())
	}
	return ck
}

func clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	ck := cookie(r, name, "", time.Time{})
	ck.MaxAge = -1
	http.SetCookie(w, ck)
}

type loginData struct {
	Next, Username, Message string
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if !v.P.Anonymous() {
		return redirect(w, r, safeNext(r.URL.Query().Get("next")))
	}
	msg := ""
	if v.expired {
		msg = errSession.Error()
	}
	c.renderLogin(w, r, v, http.StatusOK, msg)
	return nil
}

func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, v *visitor, status int, msg string) {
	next := r.FormValue("next")
	if next == "" && r.URL.Path != "/login" {
		next = r.URL.RequestURI()
	}
	if v == nil || !v.P.Anonymous() {
		v = &visitor{CSRF: c.loginCSRF(w, r)}
	}
	d := loginData{Next: safeNext(next), Username: r.PostFormValue("username"), Message: msg}
	if err := c.render(w, status, "login", page{Title: "Sign in", V: v, Notice: notice(r), Data: d}); err != nil {
		http.Error(w, msg, status)
	}
}

// login checks the credentials (the CSRF token was checked by handle) and
// starts a session: a new token of the user, named "console", that expires
// after the session TTL.
func (c *Console) login(w http.ResponseWriter, r *http.Request, v *visitor) error {
	user, password, token := r.PostForm.Get("username"), r.PostForm.Get("password"), r.PostForm.Get("token")
	var auth string
	switch {
	case token != "":
		auth = "Bearer " + token
	case user != "" && password != "":
		req := &http.Request{Header: http.Header{}}
		req.SetBasicAuth(user, password)
		auth = req.Header.Get("Authorization")
	default:
		c.renderLogin(w, r, v, http.StatusBadRequest, "Give a user name and password, or a token.")
		return nil
	}
	p, err := c.authenticate(r, auth)
	if errors.Is(err, server.ErrUnauthenticated) || (err == nil && p.Anonymous()) {
		return errSignIn
	}
	if err != nil {
		return err
	}
	expires := time.Now().Add(c.ttl)
	t, secret, err := c.acc.CreateToken(r.Context(), p.User, sessionTokenName, expires)
	if err != nil {
		return err
	}
	http.SetCookie(w, cookie(r, sessionCookie, t.ID+"."+secret, expires))
	clearCookie(w, r, loginCookie)
	return redirect(w, r, safeNext(r.PostForm.Get("next")))
}

func (c *Console) logoutPage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if v.P.Anonymous() {
		return redirect(w, r, "/login")
	}
	return c.render(w, http.StatusOK, "logout", page{Title: "Sign out", V: v})
}

// logout revokes the session's token (on every server at once) and clears
// the cookie.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if !v.P.Anonymous() {
		if err := c.acc.RevokeToken(r.Context(), v.P.User, v.tokenID); err != nil && !errors.Is(err, server.ErrNotFound) {
			return err
		}
	}
	clearCookie(w, r, sessionCookie)
	return redirect(w, r, "/login?done=signout")
}

// safeNext keeps a return address only when it is a path on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") ||
		strings.HasPrefix(next, "/login") || strings.HasPrefix(next, "/logout") {
		return "/projects"
	}
	return next
}

// notices are the fixed messages a redirect after a change may ask for
// (?done=KEY): the URL never carries text to show.
var notices = map[string]string{
	"signout": "You are signed out.",
	"tag":     "Tagged.",
	"untag":   "Tag removed.",
	"remove":  "Version moved to the trash.",
	"recover": "Version recovered from the trash.",
	"member":  "Members updated.",
	"public":  "Visibility changed.",
	"revoke":  "Token revoked.",
	"deluser": "User deleted.",
}

func notice(r *http.Request) string { return notices[r.URL.Query().Get("done")] }
