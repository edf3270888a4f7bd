package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// DriverError is an error of a store driver with the store's name and the
// call it came from. errors.As still finds the driver's own typed error
// (*NotFoundError, *PreconditionError, *InvalidKeyError) inside.
type DriverError struct {
	Store string // the store's name (plugins.yaml, or "local")
	Op    string // "put", "get", "read", "stat", "list", "delete", "compose", "ingest", "append", "seal"
	Key   string // the key or List prefix
	Err   error
}

func (e *DriverError) Error() string {
	return fmt.Sprintf("store %q: %s %s: %v", e.Store, e.Op, e.Key, e.Err)
}
func (e *DriverError) Unwrap() error { return e.Err }

// ContractError says a driver returned something the Store contract rules
// out (a listed key that is invalid, outside the prefix or out of order).
type ContractError struct {
	Store, Op, Problem string
}

func (e *ContractError) Error() string {
	return fmt.Sprintf("store %q broke the store contract in %s: %s", e.Store, e.Op, e.Problem)
}

// Checked wraps a store driver so that the contract's invariants are
// enforced once, whatever the driver (like go-cloud's portable type around
// a driver): keys and prefixes are validated before the driver sees them,
// List results are checked (valid keys, under the prefix, in lexical
// order), and every error, including one read from a Get stream, is a
// *DriverError naming the store. The host wraps every store it hands out
// in it; a crashed plugin's error arrives here already typed by core/plugin.
func Checked(name string, s Store) Store {
	switch c := s.(type) {
	case *checked:
		if c.name == name {
			return c
		}
	case *checkedLocal:
		if c.name == name {
			return c
		}
	case *checkedAppender:
		if c.name == name {
			return c
		}
	}
	c := &checked{name: name, s: s}
	ing, ok1 := s.(Ingester)
	td, ok2 := s.(TempDirer)
	if ok1 && ok2 {
		cl := &checkedLocal{checked: c, ing: ing, td: td}
		if app, ok := s.(Appender); ok {
			return &checkedAppender{checkedLocal: cl, app: app}
		}
		return cl
	}
	return c
}

type checked struct {
	name string
	s    Store
}

func (c *checked) fail(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var de *DriverError
	if errors.As(err, &de) && de.Store == c.name {
		return err
	}
	return &DriverError{Store: c.name, Op: op, Key: key, Err: err}
}

func (c *checked) Put(ctx context.Context, key string, r io.Reader, opts PutOptions) error {
	if err := ValidateKey(key); err != nil {
		return c.fail("put", key, err)
	}
	return c.fail("put", key, c.s.Put(ctx, key, r, opts))
}

// PutSized validates as Put does and answers from the wrapped store's
// SizedPutter, or from its Put with the size checked (PutSized).
func (c *checked) PutSized(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) error {
	if err := ValidateKey(key); err != nil {
		return c.fail("put", key, err)
	}
	if size < 0 {
		return c.fail("put", key, fmt.Errorf("negative size %d", size))
	}
	return c.fail("put", key, PutSized(ctx, c.s, key, r, size, opts))
}

func (c *checked) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := ValidateKey(key); err != nil {
		return nil, c.fail("get", key, err)
	}
	if offset < 0 {
		return nil, c.fail("get", key, fmt.Errorf("negative offset %d", offset))
	}
	rc, err := c.s.Get(ctx, key, offset, length)
	if err != nil {
		return nil, c.fail("get", key, err)
	}
	return &checkedReader{rc: rc, c: c, key: key}, nil
}

func (c *checked) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidateKey(key); err != nil {
		return Info{}, c.fail("stat", key, err)
	}
	i, err := c.s.Stat(ctx, key)
	return i, c.fail("stat", key, err)
}

// GetWithInfo validates as Get does and answers from the wrapped store's
// InfoGetter, or from its Stat then Get (GetWithInfo).
func (c *checked) GetWithInfo(ctx context.Context, key string, offset, length int64) (io.ReadCloser, Info, error) {
	if err := ValidateKey(key); err != nil {
		return nil, Info{}, c.fail("get", key, err)
	}
	if offset < 0 {
		return nil, Info{}, c.fail("get", key, fmt.Errorf("negative offset %d", offset))
	}
	rc, info, err := GetWithInfo(ctx, c.s, key, offset, length)
	if err != nil {
		return nil, Info{}, c.fail("get", key, err)
	}
	info.Key = key
	return &checkedReader{rc: rc, c: c, key: key}, info, nil
}

// GetURL validates as Get does and answers from the wrapped store's
// URLGetter, or ErrNoURL. The URL is never part of an error.
func (c *checked) GetURL(ctx context.Context, key string, offset, length int64) (string, http.Header, error) {
	if err := ValidateKey(key); err != nil {
		return "", nil, c.fail("get", key, err)
	}
	if offset < 0 {
		return "", nil, c.fail("get", key, fmt.Errorf("negative offset %d", offset))
	}
	u, h, err := GetURL(ctx, c.s, key, offset, length)
	if errors.Is(err, ErrNoURL) {
		return "", nil, ErrNoURL
	}
	if err != nil {
		return "", nil, c.fail("get", key, err)
	}
	return u, h, nil
}

// Children answers from the wrapped store's capability, or from its List.
func (c *checked) Children(ctx context.Context, prefix string) ([]string, error) {
	if prefix != "" {
		if err := ValidatePrefix(prefix); err != nil || !strings.HasSuffix(prefix, "/") {
			if err == nil {
				err = &InvalidKeyError{Key: prefix, Reason: "a folder prefix ends in /"}
			}
			return nil, c.fail("list", prefix, err)
		}
	}
	names, err := ChildrenOf(ctx, c.s, prefix)
	if err != nil {
		return nil, c.fail("list", prefix, err)
	}
	for i, n := range names {
		if err := validSegment(n, n); err != nil || (i > 0 && n <= names[i-1]) {
			return nil, &ContractError{Store: c.name, Op: "list " + prefix, Problem: fmt.Sprintf("listed folder %q (not a sorted valid segment)", n)}
		}
	}
	return names, nil
}

// Compose answers from the wrapped store's capability, or by streaming
// (ComposeOf).
func (c *checked) Compose(ctx context.Context, dst string, srcs []string) error {
	for _, k := range append([]string{dst}, srcs...) {
		if err := ValidateKey(k); err != nil {
			return c.fail("compose", k, err)
		}
	}
	return c.fail("compose", dst, ComposeOf(ctx, c.s, dst, srcs))
}

func (c *checked) List(ctx context.Context, prefix string, fn func(Info) error) error {
	if err := ValidatePrefix(prefix); err != nil {
		return c.fail("list", prefix, err)
	}
	var last string
	var fnErr error
	err := c.s.List(ctx, prefix, func(i Info) error {
		if err := ValidateKey(i.Key); err != nil {
			return &ContractError{Store: c.name, Op: "list " + prefix, Problem: fmt.Sprintf("listed %v", err)}
		}
		if len(i.Key) < len(prefix) || i.Key[:len(prefix)] != prefix {
			return &ContractError{Store: c.name, Op: "list " + prefix, Problem: fmt.Sprintf("listed %q, which is not under the prefix", i.Key)}
		}
		if last != "" && i.Key <= last {
			return &ContractError{Store: c.name, Op: "list " + prefix, Problem: fmt.Sprintf("listed %q after %q (not in lexical order)", i.Key, last)}
		}
		last = i.Key
		fnErr = fn(i)
		return fnErr
	})
	if err != nil && fnErr != nil && errors.Is(err, fnErr) {
		return err // the caller's own error, as it returned it
	}
	var ce *ContractError
	if errors.As(err, &ce) {
		return err
	}
	return c.fail("list", prefix, err)
}

func (c *checked) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return c.fail("delete", key, err)
	}
	return c.fail("delete", key, c.s.Delete(ctx, key))
}

// checkedReader names the store in errors read from a Get stream (a plugin
// that dies mid-stream).
type checkedReader struct {
	rc  io.ReadCloser
	c   *checked
	key string
}

func (r *checkedReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if err != nil && err != io.EOF {
		err = r.c.fail("read", r.key, err)
	}
	return n, err
}

func (r *checkedReader) Close() error { return r.c.fail("read", r.key, r.rc.Close()) }

// checkedLocal is Checked around a store that also ingests local files (the
// filesystem store): those optional interfaces stay visible.
type checkedLocal struct {
	*checked
	ing Ingester
	td  TempDirer
}

func (c *checkedLocal) Ingest(ctx context.Context, key, localPath string) error {
	if err := ValidateKey(key); err != nil {
		return c.fail("ingest", key, err)
	}
	return c.fail("ingest", key, c.ing.Ingest(ctx, key, localPath))
}

func (c *checkedLocal) TempDir() string { return c.td.TempDir() }

// checkedAppender is checkedLocal around a store whose values can also
// grow in place (the filesystem store's Appender).
type checkedAppender struct {
	*checkedLocal
	app Appender
}

func (c *checkedAppender) Append(ctx context.Context, key string, at int64, r io.Reader) (int64, error) {
	if err := ValidateKey(key); err != nil {
		return 0, c.fail("append", key, err)
	}
	if at < 0 {
		return 0, c.fail("append", key, fmt.Errorf("negative offset %d", at))
	}
	n, err := c.app.Append(ctx, key, at, r)
	return n, c.fail("append", key, err)
}

func (c *checkedAppender) Epoch() string { return c.app.Epoch() }

func (c *checkedAppender) Seal(ctx context.Context, key string, size int64, dst string) error {
	for _, k := range []string{key, dst} {
		if err := ValidateKey(k); err != nil {
			return c.fail("seal", k, err)
		}
	}
	if size < 0 {
		return c.fail("seal", key, fmt.Errorf("negative size %d", size))
	}
	return c.fail("seal", key, c.app.Seal(ctx, key, size, dst))
}
