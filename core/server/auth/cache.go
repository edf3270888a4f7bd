package auth

import (
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/swcli/swcli/core/server"
)

// DefaultCacheTTL is how long a server trusts what it read about a token or
// a project (see WithCacheTTL).
const DefaultCacheTTL = 5 * time.Second

// cacheSize bounds each cache (least recently used entries go first).
const cacheSize = 4096

// cache remembers, for a short TTL, the principal a token resolved to
// (keyed by the token's sha256, never the token) and the project records
// Authorize read, so a burst of requests with one token costs one lookup
// in the store, not three records per request.
//
// Staleness is bounded two ways: a change made through this Auth (any put
// or delete of a record) empties the cache at once, so on one server a
// revoke or a role change takes effect on the next request; a change made
// by another server sharing the store takes effect here within the TTL.
// Only positive answers are cached: a token or project created anywhere
// works at once. A read that began before a local change never fills the
// cache after it (the generation check), so it cannot bring back what the
// change removed.
type cache struct {
	ttl      time.Duration
	now      func() time.Time
	mu       sync.Mutex
	gen      uint64
	tokens   *lru.Cache[string, cachedToken]
	projects *lru.Cache[string, cachedProject]
}

type cachedToken struct {
	p       server.Principal
	expires *time.Time // the token's own expiry, still checked on a hit
	until   time.Time
}

type cachedProject struct {
	rec   projectRecord
	until time.Time
}

// newCache returns a cache with ttl; ttl <= 0 gives nil (no caching; the
// methods of a nil *cache do nothing).
func newCache(ttl time.Duration, now func() time.Time) *cache {
	if ttl <= 0 {
		return nil
	}
	t, _ := lru.New[string, cachedToken](cacheSize) // only a size <= 0 fails
	p, _ := lru.New[string, cachedProject](cacheSize)
	return &cache{ttl: ttl, now: now, tokens: t, projects: p}
}

// generation is taken before a read whose result may be cached.
func (c *cache) generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// purge forgets everything; called after every local write.
func (c *cache) purge() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.tokens.Purge()
	c.projects.Purge()
}

func (c *cache) token(hash string) (server.Principal, bool) {
	if c == nil {
		return server.Principal{}, false
	}
	e, ok := c.tokens.Get(hash)
	now := c.now()
	if !ok || !now.Before(e.until) || (e.expires != nil && !now.Before(*e.expires)) {
		return server.Principal{}, false
	}
	return e.p, true
}

func (c *cache) addToken(gen uint64, hash string, p server.Principal, expires *time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen {
		c.tokens.Add(hash, cachedToken{p: p, expires: expires, until: c.now().Add(c.ttl)})
	}
}

func (c *cache) project(name string) (projectRecord, bool) {
	if c == nil {
		return projectRecord{}, false
	}
	e, ok := c.projects.Get(name)
	if !ok || !c.now().Before(e.until) {
		return projectRecord{}, false
	}
	return e.rec, true
}

func (c *cache) addProject(gen uint64, rec projectRecord) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen {
		c.projects.Add(rec.Name, cachedProject{rec: rec, until: c.now().Add(c.ttl)})
	}
}
