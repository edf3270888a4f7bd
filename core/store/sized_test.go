package store_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/store"
)

// TestExactReader: the bytes pass whole only when the reader gives exactly
// size bytes and ends cleanly; otherwise the last byte never passes.
func TestExactReader(t *testing.T) {
	value := bytes.Repeat([]byte("0123456789"), 1000)
	boom := errors.New("boom")
	for _, c := range []struct {
		name string
		r    func() io.Reader
		size int64
		ok   bool
	}{
		{"exact", func() io.Reader { return bytes.NewReader(value) }, int64(len(value)), true},
		{"exact, one byte a read", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(value)) }, int64(len(value)), true},
		{"exact, data with EOF", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(value)) }, int64(len(value)), true},
		{"empty", func() io.Reader { return strings.NewReader("") }, 0, true},
		{"one byte", func() io.Reader { return strings.NewReader("x") }, 1, true},
		{"short", func() io.Reader { return bytes.NewReader(value[:len(value)-1]) }, int64(len(value)), false},
		{"long", func() io.Reader { return bytes.NewReader(value) }, int64(len(value) - 1), false},
		{"long, empty", func() io.Reader { return strings.NewReader("x") }, 0, false},
		{"error with the last bytes", func() io.Reader {
			return io.MultiReader(bytes.NewReader(value[:len(value)-3]), &lastErr{b: value[len(value)-3:], err: boom})
		}, int64(len(value)), false},
		{"error after the last byte", func() io.Reader {
			return io.MultiReader(bytes.NewReader(value), iotest.ErrReader(boom))
		}, int64(len(value)), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := io.ReadAll(store.ExactReader(c.r(), c.size))
			if c.ok {
				require.NoError(t, err)
				assert.Equal(t, c.size, int64(len(got)))
				return
			}
			require.Error(t, err)
			assert.Less(t, int64(len(got)), max(c.size, 1), "the last byte was kept back")
		})
	}
}

// lastErr gives b and err in one Read, as a verifying reader does at a
// digest mismatch.
type lastErr struct {
	b   []byte
	err error
}

func (l *lastErr) Read(p []byte) (int, error) {
	n := copy(p, l.b)
	l.b = l.b[n:]
	return n, l.err
}
