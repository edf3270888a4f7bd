package remote

import (
	"context"
	"io"

	"github.com/opencontainers/go-digest"
)

// Progress hears how far a blob transfer is: sent (or received) bytes of
// size. It may be called from another goroutine than the copy's.
type Progress func(d digest.Digest, done, size int64)

type progressKey struct{}

// WithProgress makes transfers under ctx report to p (the CLI's progress
// bar: bytes, rate).
func WithProgress(ctx context.Context, p Progress) context.Context {
	return context.WithValue(ctx, progressKey{}, p)
}

func progressOf(ctx context.Context) Progress {
	p, _ := ctx.Value(progressKey{}).(Progress)
	return p
}

// progressReader reports a download about every megabyte.
type progressReader struct {
	io.ReadCloser
	p          Progress
	d          digest.Digest
	done, size int64
	last       int64
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.ReadCloser.Read(b)
	r.done += int64(n)
	if r.done-r.last >= 1<<20 || (err == io.EOF && r.done != r.last) {
		r.last = r.done
		r.p(r.d, r.done, r.size)
	}
	return n, err
}
