package store_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/store"
)

// failAfter gives its bytes, then fails (a client that went away).
type failAfter struct{ r io.Reader }

var errGone = errors.New("client gone")

func (f *failAfter) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errGone
	}
	return n, err
}

// TestAppendAndSeal runs the Appender contract on the filesystem store and
// through the checked wrapper.
func TestAppendAndSeal(t *testing.T) {
	for name, wrap := range map[string]func(*store.FS) store.Store{
		"fs":      func(fs *store.FS) store.Store { return fs },
		"checked": func(fs *store.FS) store.Store { return store.Checked("local", fs) },
	} {
		t.Run(name, func(t *testing.T) {
			s := wrap(newFS(t))
			app, ok := s.(store.Appender)
			require.True(t, ok, "the capability is visible")
			var nf *store.NotFoundError
			var se *store.SizeError

			_, err := app.Append(ctx, "up/data", 3, strings.NewReader("x"))
			require.True(t, errors.As(err, &nf), "only offset 0 creates: %v", err)
			n, err := app.Append(ctx, "up/data", 0, strings.NewReader("hello "))
			require.NoError(t, err)
			assert.Equal(t, int64(6), n)
			_, err = app.Append(ctx, "up/data", 0, strings.NewReader("again"))
			require.True(t, errors.As(err, &se), "%v", err)
			assert.Equal(t, int64(6), se.Size)
			assert.Equal(t, "hello ", read(t, s, "up/data"), "a refused append writes nothing")

			// a reader that fails keeps what it gave
			n, err = app.Append(ctx, "up/data", 6, &failAfter{strings.NewReader("wor")})
			require.ErrorIs(t, err, errGone)
			assert.Equal(t, int64(3), n)
			n, err = app.Append(ctx, "up/data", 9, strings.NewReader("ld!!"))
			require.NoError(t, err)
			assert.Equal(t, int64(4), n)
			info, err := s.Stat(ctx, "up/data")
			require.NoError(t, err)
			assert.Equal(t, int64(13), info.Size)

			err = app.Seal(ctx, "up/data", 20, "blobs/b")
			require.True(t, errors.As(err, &se), "shorter than size: %v", err)
			_, err = s.Stat(ctx, "blobs/b")
			require.True(t, errors.As(err, &nf), "dst unchanged: %v", err)

			require.NoError(t, s.Put(ctx, "blobs/b", strings.NewReader("old"), store.PutOptions{}))
			require.NoError(t, app.Seal(ctx, "up/data", 12, "blobs/b"), "bytes past size are dropped")
			assert.Equal(t, "hello world!", read(t, s, "blobs/b"))
			_, err = s.Stat(ctx, "up/data")
			require.True(t, errors.As(err, &nf), "the growing key is gone: %v", err)
			_, err = app.Append(ctx, "up/data", 12, strings.NewReader("late"))
			require.True(t, errors.As(err, &nf), "no append after the seal: %v", err)
			err = app.Seal(ctx, "up/data", 0, "blobs/c")
			require.True(t, errors.As(err, &nf), "%v", err)
			_, err = app.Append(ctx, "../x", 0, strings.NewReader(""))
			var ik *store.InvalidKeyError
			require.True(t, errors.As(err, &ik), "%v", err)
		})
	}
}

// TestAppendsExcludeEachOther: two appends at the same length, the first
// still receiving: the second waits, then finds the length changed, and the
// value holds the first one's bytes only.
func TestAppendsExcludeEachOther(t *testing.T) {
	fs := newFS(t)
	_, err := fs.Append(ctx, "k", 0, strings.NewReader("ab"))
	require.NoError(t, err)
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	wg.Add(1)
	var firstN int64
	var firstErr error
	go func() {
		defer wg.Done()
		firstN, firstErr = fs.Append(ctx, "k", 2, pr)
	}()
	_, err = pw.Write([]byte("cd")) // the first holds the lock now
	require.NoError(t, err)
	second, status := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := fs.Append(ctx, "k", 2, strings.NewReader("XY"))
		second <- err
	}()
	go func() {
		_, err := fs.Append(ctx, "k", 2, strings.NewReader("")) // asks the length, once settled
		status <- err
	}()
	select {
	case err := <-second:
		t.Fatalf("the second append did not wait: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	_, err = pw.Write([]byte("ef"))
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	wg.Wait()
	require.NoError(t, firstErr)
	assert.Equal(t, int64(4), firstN)
	var se *store.SizeError
	err = <-second
	require.True(t, errors.As(err, &se), "%v", err)
	assert.Equal(t, int64(6), se.Size)
	err = <-status
	require.True(t, errors.As(err, &se), "an empty append waited for the running one: %v", err)
	assert.Equal(t, int64(6), se.Size)
	assert.Equal(t, "abcdef", read(t, fs, "k"))
}

// TestAppendLarge: many buffers' worth (writeback started along the way)
// arrive whole.
func TestAppendLarge(t *testing.T) {
	fs := newFS(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), (20<<20)/16+3)
	n, err := fs.Append(ctx, "big", 0, bytes.NewReader(data[:5<<20]))
	require.NoError(t, err)
	m, err := fs.Append(ctx, "big", n, bytes.NewReader(data[5<<20:]))
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), n+m)
	require.NoError(t, fs.Seal(ctx, "big", int64(len(data)), "blob"))
	assert.True(t, read(t, fs, "blob") == string(data))
}
