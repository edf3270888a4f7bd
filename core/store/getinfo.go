package store

import (
	"context"
	"io"
)

// InfoGetter is an optional Store capability: Get that also returns the
// Info of the value whose bytes it returns, in one request (S3's GetObject
// answers with the ETag, size and last-modified time; the filesystem store
// stats the file it opened). The Info describes exactly the value being
// read, even if the key is replaced while it is read: its ETag, given to a
// conditional Put as IfMatch, fails if the key changed since. Size is the
// whole value's, not the length of the range read. A missing key gives
// *NotFoundError, as Get.
type InfoGetter interface {
	GetWithInfo(ctx context.Context, key string, offset, length int64) (io.ReadCloser, Info, error)
}

// GetWithInfo is Get with the value's Info: from s's InfoGetter when it has
// one (one request), else Stat then Get. The fallback reads the ETag first:
// if the value changes in between, the ETag is older than the bytes, so a
// conditional Put with it fails and the caller retries; it never replaces a
// newer value by mistake. Written once here, so callers (auth records,
// registry records) need not know which stores can do better.
func GetWithInfo(ctx context.Context, s Store, key string, offset, length int64) (io.ReadCloser, Info, error) {
	if g, ok := s.(InfoGetter); ok {
		return g.GetWithInfo(ctx, key, offset, length)
	}
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, Info{}, err
	}
	rc, err := s.Get(ctx, key, offset, length)
	if err != nil {
		return nil, Info{}, err
	}
	return rc, info, nil
}
