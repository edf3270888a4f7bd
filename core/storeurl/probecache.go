package storeurl

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/atomicfile"
)

// DefaultProbeTTL is how long a passed probe is trusted by ProbeCache.
const DefaultProbeTTL = 10 * time.Minute

// ProbeCache remembers, per store URL, that the store behind it passed
// Probe, so that a short command run again and again (`swcli runtime list`
// with SW_STORE=s3://...) does not spend Probe's six requests each time
// proving what the last command proved. What a passed probe says about a
// service (it is reachable, the credentials work, its conditional writes
// hold) is trusted for TTL; a request of the store that then fails for
// any reason but a typed answer (not found, precondition, invalid key)
// forgets it, so the next command probes again and says plainly what is
// wrong.
//
// An entry is one small JSON file in Dir named by the SHA-256 of the
// normalized store URL. Store URLs carry no credentials (Open refuses
// them), so neither the name nor the content holds a secret: the file
// records only the redacted URL and the time of the probe.
type ProbeCache struct {
	Dir string
	TTL time.Duration // default DefaultProbeTTL
	// Now is the clock (default time.Now); tests move it.
	Now func() time.Time
}

type probeRecord struct {
	Store    string    `json:"store"`
	ProbedAt time.Time `json:"probed_at"`
}

func (c *ProbeCache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *ProbeCache) ttl() time.Duration {
	if c.TTL > 0 {
		return c.TTL
	}
	return DefaultProbeTTL
}

// path is the entry of u (already parsed and checked by Open).
func (c *ProbeCache) path(u *url.URL) string {
	sum := sha256.Sum256([]byte(u.String()))
	return filepath.Join(c.Dir, hex.EncodeToString(sum[:])+".json")
}

// Fresh says the store u names passed a probe less than TTL ago. An entry
// that cannot be read, or from the future, is not fresh.
func (c *ProbeCache) Fresh(u *url.URL) bool {
	b, err := os.ReadFile(c.path(u))
	if err != nil {
		return false
	}
	var rec probeRecord
	if json.Unmarshal(b, &rec) != nil {
		return false
	}
	age := c.now().Sub(rec.ProbedAt)
	return age >= 0 && age < c.ttl()
}

// Remember records that the store u names passed a probe now. A cache that
// cannot be written only costs the next command a probe, so the error is
// for the caller to ignore or log.
func (c *ProbeCache) Remember(u *url.URL) error {
	b, err := json.Marshal(probeRecord{Store: Redact(u.String()), ProbedAt: c.now().UTC()})
	if err != nil {
		return err
	}
	return atomicfile.Write(c.path(u), b, 0o600)
}

// Forget drops the entry of u.
func (c *ProbeCache) Forget(u *url.URL) {
	_ = os.Remove(c.path(u))
}

// forgetting is the store handed out after a cached probe: a failed call
// forgets the cache entry (see ProbeCache).
type forgetting struct {
	store.Store
	forget func()
}

// failed forgets the entry when err is a failure of the store rather than a
// typed answer about a key.
func (f *forgetting) failed(err error) error {
	var (
		nf *store.NotFoundError
		pe *store.PreconditionError
		ik *store.InvalidKeyError
	)
	switch {
	case err == nil, errors.As(err, &nf), errors.As(err, &pe), errors.As(err, &ik),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
	default:
		f.forget()
	}
	return err
}

func (f *forgetting) Put(ctx context.Context, key string, r io.Reader, opts store.PutOptions) error {
	return f.failed(f.Store.Put(ctx, key, r, opts))
}

func (f *forgetting) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	rc, err := f.Store.Get(ctx, key, offset, length)
	return rc, f.failed(err)
}

// GetWithInfo keeps the plugin's store.InfoGetter visible.
func (f *forgetting) GetWithInfo(ctx context.Context, key string, offset, length int64) (io.ReadCloser, store.Info, error) {
	rc, i, err := store.GetWithInfo(ctx, f.Store, key, offset, length)
	return rc, i, f.failed(err)
}

func (f *forgetting) Stat(ctx context.Context, key string) (store.Info, error) {
	i, err := f.Store.Stat(ctx, key)
	return i, f.failed(err)
}

func (f *forgetting) List(ctx context.Context, prefix string, fn func(store.Info) error) error {
	var fnErr error
	err := f.Store.List(ctx, prefix, func(i store.Info) error { fnErr = fn(i); return fnErr })
	if fnErr != nil && errors.Is(err, fnErr) {
		return err // the caller's own error, not the store's
	}
	return f.failed(err)
}

func (f *forgetting) Delete(ctx context.Context, key string) error {
	return f.failed(f.Store.Delete(ctx, key))
}
