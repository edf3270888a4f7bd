// Package auth implements server.Accounts (and so server.Access) over a
// core/store: users, password hashes, tokens, projects and members live in
// the store and nowhere else, so several servers sharing one store see each
// other's changes at once. It owns who may do what; it knows nothing of
// runtimes, HTTP routes or the registry.
//
// # Key layout
//
//	auth/users/<name>.json      {"name", "admin", "password" (bcrypt hash), "created"}
//	auth/tokens/<sha256>.json   {"hash", "user", "name", "created", "expires"}; <sha256> is the hex sha256 of the token
//	auth/projects/<name>.json   {"name", "public", "created", "members": [{"user", "role"}]}
//
// # Invariants
//
//   - A token is stored only as its sha256 (32 random bytes need no slow
//     hash); the stored hash is compared with crypto/subtle. A password is
//     stored only as a bcrypt hash. Neither appears in an error or a log.
//   - Every change is a read-modify-write with the store's conditional put
//     (IfNoneMatch to create, IfMatch to replace), retried when another
//     writer got there first, so concurrent servers lose no update.
//   - The only cache is short (WithCacheTTL, DefaultCacheTTL = 5 s; see
//     cache.go): what a token resolved to (keyed by its sha256) and the
//     project records Authorize reads. A revoked token, a deleted user or a
//     changed role takes effect on the next request on the server that
//     made the change, and within the TTL on every other server sharing
//     the store. Refusals are never cached.
//   - A token's id is the first 16 hex characters of its hash: enough to
//     name it for revoking, useless to find the token.
package auth
