package store

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// SizedPutter is an optional Store capability: a Put whose caller knows the
// value's size in advance (a pushed blob with its Content-Length), so the
// store can stream the bytes to its service as they arrive instead of
// holding them first (S3: one PutObject with that Content-Length, where a
// Put of unknown size reads up to SinglePutSize into memory to choose
// between PutObject and a multipart upload). The contract is Put's, and:
//
//   - r must give exactly size bytes. Fewer (r ends early), more, or an
//     error from r, also one returned together with the last bytes (a
//     digest check failing at the end of a verified stream), store nothing:
//     the old value stays. A store meets this by never handing the value's
//     last byte on before r has said, with io.EOF and no other error, that
//     it is done (ExactReader does exactly that).
//   - size < 0 is not allowed (call Put).
//
// Stores without it are answered by PutSized with an ExactReader around
// r and a plain Put, so the size rules hold for every store.
type SizedPutter interface {
	PutSized(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) error
}

// PutSized puts r, which must give exactly size bytes, at key in s:
// through the capability when s has it, else through Put with the size
// checked (written once here, so callers need not know which stores can
// do better). size < 0 means unknown: a plain Put.
func PutSized(ctx context.Context, s Store, key string, r io.Reader, size int64, opts PutOptions) error {
	if size < 0 {
		return s.Put(ctx, key, r, opts)
	}
	if sp, ok := s.(SizedPutter); ok {
		return sp.PutSized(ctx, key, r, size, opts)
	}
	return s.Put(ctx, key, ExactReader(r, size), opts)
}

// SizeMismatchError says the reader of a sized Put gave another number of
// bytes than it said: Got is a lower bound when it gave more.
type SizeMismatchError struct {
	Want, Got int64
}

func (e *SizeMismatchError) Error() string {
	if e.Got > e.Want {
		return fmt.Sprintf("store: the value has more than the %d bytes announced", e.Want)
	}
	return fmt.Sprintf("store: the value ended after %d of the %d bytes announced", e.Got, e.Want)
}

// ExactReader reads r, which must give exactly size bytes, and keeps the
// last byte back until r has ended cleanly: at io.EOF (with no other
// error) after exactly size bytes it gives that byte and then io.EOF;
// otherwise it returns r's error, or *SizeMismatchError, without ever
// giving the last byte. A request body streamed from it with
// Content-Length size therefore never arrives whole at the service unless
// r was good, and the service stores nothing.
//
// Written by hand: io.LimitReader stops at the size but neither holds the
// last byte back nor notices bytes past it.
func ExactReader(r io.Reader, size int64) io.Reader {
	return &exactReader{r: r, size: size}
}

type exactReader struct {
	r    io.Reader
	size int64
	n    int64 // bytes given on
	last []byte
	held bool  // last[0] is the value's last byte, read and kept back
	err  error // sticky
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if e.held {
		// r has been seen to end cleanly: the last byte goes on
		p[0] = e.last[0]
		e.n++
		e.held = false
		e.err = io.EOF
		return 1, nil
	}
	// give on at most up to the byte before the last; read the last byte
	// (and what would come after it) separately
	if left := e.size - 1 - e.n; left > 0 {
		if int64(len(p)) > left {
			p = p[:left]
		}
		m, err := e.r.Read(p)
		e.n += int64(m)
		switch {
		case errors.Is(err, io.EOF) && e.n < e.size:
			e.err = &SizeMismatchError{Want: e.size, Got: e.n}
		case err != nil:
			e.err = err
		}
		if e.err != nil {
			return m, e.err
		}
		return m, nil
	}
	if e.last == nil {
		e.last = make([]byte, 2)
	}
	if e.size == 0 {
		if err := e.finish(nil); err != nil {
			return 0, err
		}
		e.err = io.EOF
		return 0, io.EOF
	}
	// the last byte: read it (an error with it is kept: io.ReadFull would
	// drop it), then make sure r ends there
	var m int
	var err error
	for m == 0 && err == nil {
		m, err = e.r.Read(e.last[:1])
	}
	if m == 0 {
		if errors.Is(err, io.EOF) {
			err = &SizeMismatchError{Want: e.size, Got: e.n}
		}
		e.err = err
		return 0, err
	}
	if err := e.finish(err); err != nil {
		return 0, err
	}
	e.held = true
	return e.Read(p)
}

// finish checks that r has no byte left: nil when r ends with io.EOF (err
// is what came with the last byte, if it is known already).
func (e *exactReader) finish(err error) error {
	for err == nil {
		var m int
		m, err = e.r.Read(e.last[1:2:2])
		if m > 0 {
			e.err = &SizeMismatchError{Want: e.size, Got: e.size + 1}
			return e.err
		}
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	e.err = err
	return err
}
