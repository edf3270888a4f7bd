package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/swcli/swcli/internal/contention"
	"io"

	"github.com/swcli/swcli/core/store"
)

const (
	usersPrefix    = "auth/users/"
	tokensPrefix   = "auth/tokens/"
	projectsPrefix = "auth/projects/"
	// records are small; refuse to parse anything bigger
	maxRecordSize = 1 << 20
)

func userKey(name string) string    { return usersPrefix + name + ".json" }
func tokenKey(hash string) string   { return tokensPrefix + hash + ".json" }
func projectKey(name string) string { return projectsPrefix + name + ".json" }
func isNotFound(err error) bool     { var nf *store.NotFoundError; return errors.As(err, &nf) }
func isPrecondition(err error) bool { var pe *store.PreconditionError; return errors.As(err, &pe) }

// read reads the JSON record at key and returns the ETag of the value read
// (one request on stores that answer a Get with it; see store.GetWithInfo).
func (a *Auth) read(ctx context.Context, key string, v any) (string, error) {
	rc, info, err := store.GetWithInfo(ctx, a.s, key, 0, -1)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxRecordSize+1))
	if err != nil {
		return "", fmt.Errorf("auth: read %s: %w", key, err)
	}
	if len(data) > maxRecordSize {
		return "", fmt.Errorf("auth: %s: record larger than %d bytes", key, maxRecordSize)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return "", fmt.Errorf("auth: %s: corrupt record: %w", key, err)
	}
	return info.ETag, nil
}

func (a *Auth) put(ctx context.Context, key string, v any, opts store.PutOptions) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	defer a.cache.purge() // after the write: see cache
	return a.s.Put(ctx, key, bytes.NewReader(append(data, '\n')), opts)
}

// remove deletes the record at key (a missing one is no error).
func (a *Auth) remove(ctx context.Context, key string) error {
	defer a.cache.purge()
	return a.s.Delete(ctx, key)
}

// create writes a new record; an existing key gives *store.PreconditionError.
func (a *Auth) create(ctx context.Context, key string, v any) error {
	return a.put(ctx, key, v, store.PutOptions{IfNoneMatch: true})
}

// update reads the record at key, lets change modify it (exists says
// whether it was there; returning false writes nothing) and writes it back
// with a conditional put, retrying when another writer changed it in
// between. It returns the record as written (or as read, if unchanged).
func update[T any](ctx context.Context, a *Auth, key string, change func(cur *T, exists bool) (bool, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		var cur T
		etag, err := a.read(ctx, key, &cur)
		exists := err == nil
		if err != nil && !isNotFound(err) {
			return cur, err
		}
		write, err := change(&cur, exists)
		if err != nil || !write {
			return cur, err
		}
		opts := store.PutOptions{IfNoneMatch: true}
		if exists {
			opts = store.PutOptions{IfMatch: etag}
		}
		err = a.put(ctx, key, cur, opts)
		if err == nil {
			return cur, nil
		}
		if !isPrecondition(err) {
			return cur, fmt.Errorf("auth: write %s: %w", key, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return cur, err
		}
	}
}

// backoff waits a little, more after each lost race, before a retry.
func backoff(ctx context.Context, attempt int) error {
	return contention.Backoff(ctx, "auth", attempt)
}

// records reads every record under prefix (in key order), skipping those
// deleted since the listing.
func records[T any](ctx context.Context, a *Auth, prefix string) ([]T, error) {
	names, err := a.keys(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(names))
	for _, n := range names {
		var v T
		_, err := a.read(ctx, prefix+n+".json", &v)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// keys lists the record names (without prefix and ".json") under prefix.
func (a *Auth) keys(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	err := a.s.List(ctx, prefix, func(info store.Info) error {
		rest := info.Key[len(prefix):]
		if len(rest) > len(".json") && rest[len(rest)-len(".json"):] == ".json" {
			out = append(out, rest[:len(rest)-len(".json")])
		}
		return nil
	})
	return out, err
}
