package store

import (
	"context"
	"fmt"
	"io"
)

// Composer is an optional Store capability: Compose makes dst hold the
// concatenation of the values of srcs, in order, without the caller reading
// and writing the bytes. dst appears atomically, like a Put (readers see the
// old value or the new one, never a part); srcs stay as they are. No srcs
// gives an empty value. A missing src gives *NotFoundError and leaves dst
// unchanged. The filesystem store hard-links a single src into place and
// copies several in the kernel (copy_file_range); stores without it are
// answered by ComposeOf with a streaming copy.
type Composer interface {
	Compose(ctx context.Context, dst string, srcs []string) error
}

// ComposeOf composes srcs into dst in s: through the capability when s has
// it, else by streaming each src through one Put (written once here, so
// callers need not know which stores can do better).
func ComposeOf(ctx context.Context, s Store, dst string, srcs []string) error {
	if c, ok := s.(Composer); ok {
		return c.Compose(ctx, dst, srcs)
	}
	cr := &concatReader{ctx: ctx, s: s, keys: srcs}
	defer cr.Close()
	err := s.Put(ctx, dst, cr, PutOptions{})
	if cr.err != nil {
		return cr.err // the src's own error (*NotFoundError), not the Put's wrapping
	}
	if err != nil {
		return fmt.Errorf("store: compose %s: %w", dst, err)
	}
	return nil
}

// concatReader reads the values of keys in order, opening one at a time.
type concatReader struct {
	ctx  context.Context
	s    Store
	keys []string
	cur  io.ReadCloser
	err  error // the first error opening or reading a src
}

func (c *concatReader) Read(p []byte) (int, error) {
	for {
		if c.cur == nil {
			if len(c.keys) == 0 {
				return 0, io.EOF
			}
			rc, err := c.s.Get(c.ctx, c.keys[0], 0, -1)
			if err != nil {
				c.err = err
				return 0, err
			}
			c.cur, c.keys = rc, c.keys[1:]
		}
		n, err := c.cur.Read(p)
		if err == io.EOF {
			_ = c.cur.Close()
			c.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		if err != nil {
			c.err = err
		}
		return n, err
	}
}

func (c *concatReader) Close() error {
	if c.cur != nil {
		return c.cur.Close()
	}
	return nil
}
