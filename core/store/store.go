// Package store defines Store, the small bytes-by-key interface every storage
// backend implements (the filesystem store here, S3 and third-party stores as
// plugins), and the typed errors it returns. It owns nothing above bytes:
// blobs, manifests, versions and tags live in core/registry.
//
// The contract, which sdk/storetest checks for every implementation:
//
//   - Keys are slash-separated relative paths of [A-Za-z0-9._-] segments; no
//     empty, "." or ".." segment, no leading slash. Invalid keys give
//     *InvalidKeyError.
//   - Put stores all of r at key atomically: readers see the old value or the
//     new one, never a part. If r fails, nothing changes. With IfNoneMatch, Put
//     fails with *PreconditionError when the key exists; with IfMatch, it fails
//     unless the key's current ETag equals IfMatch. Conditional puts are atomic
//     against concurrent writers (in other processes too).
//   - Get returns the bytes from offset; length < 0 means to the end. A missing
//     key gives *NotFoundError.
//   - Stat returns size and ETag; ETag changes whenever content changes.
//   - List calls fn for every key under prefix (prefix "" lists all; a prefix
//     matches whole leading segments or a leading part of a segment, as in S3),
//     in lexical order. Keys being written and not yet committed are not listed.
//   - Delete removes a key; deleting a missing key is not an error.
package store

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Store is bytes by key. See the package documentation for the contract.
type Store interface {
	Put(ctx context.Context, key string, r io.Reader, opts PutOptions) error
	Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	Stat(ctx context.Context, key string) (Info, error)
	List(ctx context.Context, prefix string, fn func(Info) error) error
	Delete(ctx context.Context, key string) error
}

// PutOptions make a Put conditional.
type PutOptions struct {
	// IfNoneMatch: only create; fail if the key exists.
	IfNoneMatch bool
	// IfMatch: only replace the value whose ETag is this.
	IfMatch string
}

// Info describes a stored key.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
	ETag    string
}

// NotFoundError says a key does not exist.
type NotFoundError struct{ Key string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("store: %s: not found", e.Key) }

// PreconditionError says a conditional Put lost: the key exists (IfNoneMatch)
// or changed (IfMatch).
type PreconditionError struct{ Key string }

func (e *PreconditionError) Error() string {
	return fmt.Sprintf("store: %s: changed by another writer", e.Key)
}

// InvalidKeyError says a key breaks the key rules.
type InvalidKeyError struct {
	Key    string
	Reason string
}

func (e *InvalidKeyError) Error() string {
	return fmt.Sprintf("store: invalid key %q: %s", e.Key, e.Reason)
}

// Children is an optional Store capability: the distinct folders directly
// under prefix (which ends in "/", or is "" for the top), as S3 lists
// CommonPrefixes with the delimiter "/": keys "a/b/c" and "a/d/e" under
// "a/" give "b" and "d". Names come sorted. A folder may be reported that
// holds no key any more (removed meanwhile); callers that care check with
// List. Stores without it are answered from List by ChildrenOf.
type Children interface {
	Children(ctx context.Context, prefix string) ([]string, error)
}

// ChildrenOf is s's Children under prefix, from the capability when s has
// it, else by listing every key under prefix (written once here, so the
// registry need not know which stores can do better).
func ChildrenOf(ctx context.Context, s Store, prefix string) ([]string, error) {
	if c, ok := s.(Children); ok {
		return c.Children(ctx, prefix)
	}
	// keys are in lexical order, but "a-b/x" sorts before "a/b": a set
	seen := map[string]bool{}
	var out []string
	err := s.List(ctx, prefix, func(i Info) error {
		rest := i.Key[len(prefix):]
		if j := strings.IndexByte(rest, '/'); j > 0 && !seen[rest[:j]] {
			seen[rest[:j]] = true
			out = append(out, rest[:j])
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}
