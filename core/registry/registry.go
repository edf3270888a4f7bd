package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/swcli/swcli/internal/contention"

	"github.com/swcli/swcli/core/store"
)

// Registry keeps versions, tags and blobs in a store.Store. It holds no state
// of its own: any number of Registries (in any number of processes) may share
// one store. See the package documentation for the layout and invariants.
type Registry struct {
	s    store.Store
	now  func() time.Time
	kind Kind // "" is KindRuntime (see Of)
}

// New returns a Registry of runtimes on s (Of gives the other kinds).
func New(s store.Store) *Registry {
	return &Registry{s: s, now: func() time.Time { return time.Now().UTC() }}
}

// Store returns the store the registry works on.
func (r *Registry) Store() store.Store { return r.s }

const (
	// records are small; refuse to parse anything bigger
	maxRecordSize = 1 << 20
	// parallel reads of records
	readWorkers = 16
)

func isNotFound(err error) bool {
	var nf *store.NotFoundError
	return errors.As(err, &nf)
}

func isPrecondition(err error) bool {
	var pe *store.PreconditionError
	return errors.As(err, &pe)
}

// readJSON reads the JSON value at key. A missing key gives the store's
// *store.NotFoundError.
func (r *Registry) readJSON(ctx context.Context, key string, v any) error {
	rc, err := r.s.Get(ctx, key, 0, -1)
	if err != nil {
		return err
	}
	return decodeRecord(key, rc, v)
}

// readJSONETag reads the value at key with the ETag to replace it with
// IfMatch: the ETag of the value read, in one request on stores that answer
// a Get with it (store.GetWithInfo; other stores are asked for the ETag
// first, so a value newer than the ETag is never replaced by mistake).
func (r *Registry) readJSONETag(ctx context.Context, key string, v any) (string, error) {
	rc, info, err := store.GetWithInfo(ctx, r.s, key, 0, -1)
	if err != nil {
		return "", err
	}
	if err := decodeRecord(key, rc, v); err != nil {
		return "", err
	}
	return info.ETag, nil
}

// decodeRecord reads one JSON record from rc (closing it) into v.
func decodeRecord(key string, rc io.ReadCloser, v any) error {
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxRecordSize+1))
	if err != nil {
		return fmt.Errorf("registry: read %s: %w", key, err)
	}
	if len(data) > maxRecordSize {
		return fmt.Errorf("registry: %s: record larger than %d bytes", key, maxRecordSize)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("registry: %s: corrupt record: %w", key, err)
	}
	return nil
}

func (r *Registry) putJSON(ctx context.Context, key string, v any, opts store.PutOptions) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return r.s.Put(ctx, key, bytes.NewReader(append(data, '\n')), opts)
}

// backoff waits a little, more after each lost race, before a retry.
func backoff(ctx context.Context, attempt int) error {
	return contention.Backoff(ctx, "registry", attempt)
}

// parallel calls fn(i) for i in [0, n) on a few goroutines and returns the
// first error.
func parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	if n == 0 {
		return ctx.Err()
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		once  sync.Once
		first error
	)
	for w := 0; w < min(readWorkers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || wctx.Err() != nil {
					return
				}
				if err := fn(wctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
