// Package console is the cloud instance's web console, mounted at "/" by
// core/server: server-rendered html/template pages with a little plain CSS
// and JavaScript embedded in the binary (no front-end build), at URLs that
// follow the CLI's URIs:
//
//	/projects                                        projects you may read
//	/projects/P                                      a project's runtimes
//	/projects/P/runtimes/NAME                        a runtime's versions (tag, untag, remove, recover)
//	/projects/P/runtimes/NAME/versions/V             one version: runtime.yaml, lock, layers, commands
//	/projects/P/runtimes/NAME/versions/V/download    the version as a .swrt
//	/projects/P/runtimes/NAME/compare?a=V1&b=V2      two versions side by side
//	/projects/P/members                              members and roles (owners change them)
//	/users, /tokens                                  accounts (admin) and your tokens
//	/login, /logout                                  sign in and out
//
// It owns sessions, CSRF protection, the pages and their security headers.
// It decides nothing about who may do what: every page asks the
// server.Accounts it is given (Authorize), and every runtime fact comes from
// core/registry's exported API and the runtime manifest (core/workflow).
//
// # Sessions
//
// Signing in (a user name and password, or a token) creates a token of the
// user named "console" that expires after Config.SessionTTL; the cookie
// holds it, and every request authenticates it through Accounts like any
// other token. So sessions live in the store, hashed, like tokens (no
// server-local state: any server on the store accepts them); signing out
// revokes the token, and deleting a user or revoking the token on /tokens
// ends the session on every server at once. The cookie is HttpOnly,
// SameSite=Strict, Secure when the request came over TLS.
//
// # Invariants
//
//   - Every state-changing request is a POST with a CSRF token: for a
//     session, an HMAC of the session token (so it needs no storage and an
//     attacker who cannot read the HttpOnly cookie cannot forge it); for the
//     sign-in form, a random value that must match a SameSite=Strict cookie
//     (double submit). A missing or wrong one changes nothing and answers 403.
//   - Every response carries a Content-Security-Policy without
//     'unsafe-inline' (script-src 'self'); pages use no inline script or
//     style. Everything user-written goes through html/template escaping.
//   - A project, runtime or version that does not exist and one the visitor
//     may not read give the same 404 page, byte for byte.
//   - Version summaries are cached by manifest digest only: a digest names
//     immutable content, so the cache can never be stale and servers need
//     not share it.
package console
