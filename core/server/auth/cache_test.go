package auth_test

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/server"
	"github.com/swcli/swcli/core/server/auth"
	"github.com/swcli/swcli/core/store"
)

// counting counts the store requests auth makes (reads of records), around
// a real FS store (whose GetWithInfo reads a record with its ETag at once).
type counting struct {
	store.Store
	reads atomic.Int64
	keys  sync.Map // every key read, to check the cache key has no secret
}

func (c *counting) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	c.reads.Add(1)
	c.keys.Store(key, true)
	return c.Store.Get(ctx, key, off, n)
}

func (c *counting) GetWithInfo(ctx context.Context, key string, off, n int64) (io.ReadCloser, store.Info, error) {
	c.reads.Add(1)
	c.keys.Store(key, true)
	return store.GetWithInfo(ctx, c.Store, key, off, n)
}

func (c *counting) Stat(ctx context.Context, key string) (store.Info, error) {
	c.reads.Add(1)
	c.keys.Store(key, true)
	return c.Store.Stat(ctx, key)
}

// A fake clock that tests move by hand (no sleeping, no timing).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// Two servers on one store, each with the default 5 s cache: a burst of
// requests with one token costs one lookup; a revoke on the other server
// is honoured here once the TTL has passed, and never before the revoke
// is written; on the server that revokes, at once.
func TestCacheRevokeAcrossServers(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	fs := newStore(t)
	cs := &counting{Store: fs}
	a := newAuth(t, cs, auth.WithClock(clk.now)) // serves requests, counted
	b := newAuth(t, fs, auth.WithClock(clk.now)) // the other server
	_, tok, err := b.CreateUser(ctx, "alice", false, "")
	require.NoError(t, err)
	_, err = b.CreateProject(ctx, "p1", "alice", false)
	require.NoError(t, err)
	alice := server.Principal{User: "alice"}

	// a burst: one lookup of the token, user and project records
	before := cs.reads.Load()
	for i := 0; i < 20; i++ {
		p, err := a.Authenticate(request(bearer(tok)))
		require.NoError(t, err)
		require.Equal(t, alice, p)
		require.NoError(t, a.Authorize(ctx, p, "p1", server.ActionPush))
	}
	require.Equal(t, int64(3), cs.reads.Load()-before, "token, user and project read once for 20 requests")

	// long before and up to the revoke, across many TTLs: always accepted
	for i := 0; i < 4; i++ {
		clk.add(3 * time.Second)
		_, err := a.Authenticate(request(bearer(tok)))
		require.NoError(t, err, "a valid token is never refused")
	}

	// b revokes; a may trust its cache for at most the TTL
	toks, err := b.ListTokens(ctx, "alice")
	require.NoError(t, err)
	require.NoError(t, b.RevokeToken(ctx, "alice", toks[0].ID))
	_, err = b.Authenticate(request(bearer(tok)))
	require.ErrorIs(t, err, server.ErrUnauthenticated, "refused at once where revoked")
	_, err = a.Authenticate(request(bearer(tok)).WithContext(server.Fresh(ctx)))
	require.ErrorIs(t, err, server.ErrUnauthenticated, "a fresh request (the console's) is refused at once on the other server too")
	clk.add(auth.DefaultCacheTTL)
	_, err = a.Authenticate(request(bearer(tok)))
	require.ErrorIs(t, err, server.ErrUnauthenticated, "refused on the other server once the TTL passed")

	// a role change on b: a honours it within the TTL
	_, tok2, err := b.CreateUser(ctx, "bob", false, "")
	require.NoError(t, err)
	_, err = b.SetMember(ctx, "p1", "bob", server.RoleMaintainer)
	require.NoError(t, err)
	bob, err := a.Authenticate(request(bearer(tok2)))
	require.NoError(t, err)
	require.NoError(t, a.Authorize(ctx, bob, "p1", server.ActionPush))
	_, err = b.SetMember(ctx, "p1", "bob", server.RoleGuest)
	require.NoError(t, err)
	clk.add(auth.DefaultCacheTTL)
	require.ErrorIs(t, a.Authorize(ctx, bob, "p1", server.ActionPush), server.ErrForbidden)

	// no key the cache led to read holds the token itself
	cs.keys.Range(func(k, _ any) bool {
		require.NotContains(t, k.(string), tok)
		require.NotContains(t, k.(string), tok2)
		return true
	})
}

// On the server that makes a change, it takes effect on the next request,
// cache or not; refusals are not cached (a token works as soon as it is
// made); the token's own expiry is honoured on a cache hit.
func TestCacheLocalChangesAtOnce(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a := newAuth(t, newStore(t), auth.WithClock(clk.now), auth.WithCacheTTL(time.Hour))
	_, tok, err := a.CreateUser(ctx, "alice", false, "")
	require.NoError(t, err)
	_, err = a.Authenticate(request(bearer(tok)))
	require.NoError(t, err)
	toks, err := a.ListTokens(ctx, "alice")
	require.NoError(t, err)
	require.NoError(t, a.RevokeToken(ctx, "alice", toks[0].ID))
	_, err = a.Authenticate(request(bearer(tok)))
	require.ErrorIs(t, err, server.ErrUnauthenticated)

	// a token refused because it does not exist yet works once created
	_, short, err := a.CreateToken(ctx, "alice", "ci", clk.now().Add(time.Minute))
	require.NoError(t, err)
	_, err = a.Authenticate(request(bearer(short)))
	require.NoError(t, err)
	clk.add(time.Minute)
	_, err = a.Authenticate(request(bearer(short)))
	require.ErrorIs(t, err, server.ErrUnauthenticated, "expired, though cached for an hour")

	// deleting the user ends its tokens here at once
	_, t2, err := a.CreateToken(ctx, "alice", "ci2", time.Time{})
	require.NoError(t, err)
	_, err = a.Authenticate(request(bearer(t2)))
	require.NoError(t, err)
	require.NoError(t, a.DeleteUser(ctx, "alice"))
	_, err = a.Authenticate(request(bearer(t2)))
	require.ErrorIs(t, err, server.ErrUnauthenticated)
}

// WithCacheTTL(0) turns the cache off: every request reads the records.
func TestCacheOff(t *testing.T) {
	cs := &counting{Store: newStore(t)}
	a := newAuth(t, cs, auth.WithCacheTTL(0))
	_, tok, err := a.CreateUser(ctx, "alice", false, "")
	require.NoError(t, err)
	before := cs.reads.Load()
	for i := 0; i < 3; i++ {
		_, err := a.Authenticate(request(bearer(tok)))
		require.NoError(t, err)
	}
	require.Equal(t, int64(6), cs.reads.Load()-before, "token and user records, each request")
}
