package workflow

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// Bytes written in pieces of every size come out whole and in order, with
// the writer running ahead of a slow reader up to the limit, and io.EOF
// only after a clean CloseWrite.
func TestTapBufferPassesBytesInOrder(t *testing.T) {
	want := make([]byte, 3<<20+12345)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range want {
		want[i] = byte(r.Uint32())
	}
	b := newTapBuffer(1 << 20)
	go func() {
		for p := want; len(p) > 0; {
			n := min(len(p), 1+r.IntN(700<<10))
			_, err := b.Write(p[:n])
			if err != nil {
				b.CloseWrite(err)
				return
			}
			p = p[n:]
		}
		b.CloseWrite(nil)
	}()
	var got bytes.Buffer
	buf := make([]byte, 100<<10)
	for {
		n, err := b.Read(buf[:1+rand.IntN(len(buf))])
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
	}
	require.True(t, bytes.Equal(want, got.Bytes()), "got %d bytes, want %d", got.Len(), len(want))
}

// A writer that ends with an error (a digest mismatch, a cut download)
// fails the reader even with bytes still buffered: the reader never sees a
// clean end. A reader that closes releases a writer waiting on a full
// buffer.
func TestTapBufferErrorsReachTheOtherSide(t *testing.T) {
	bad := errors.New("digest mismatch")
	b := newTapBuffer(1 << 20)
	_, err := b.Write([]byte("some bytes"))
	require.NoError(t, err)
	b.CloseWrite(bad)
	_, err = b.Read(make([]byte, 4))
	require.ErrorIs(t, err, bad)
	_, err = io.ReadAll(b)
	require.ErrorIs(t, err, bad)

	b = newTapBuffer(1 << 20)
	done := make(chan error)
	go func() {
		_, err := b.Write(make([]byte, 3<<20)) // more than the limit: blocks
		done <- err
	}()
	_, err = io.ReadFull(b, make([]byte, 10))
	require.NoError(t, err)
	b.CloseRead(errTapClosed)
	require.ErrorIs(t, <-done, errTapClosed)
	_, err = b.Write([]byte("x"))
	require.ErrorIs(t, err, errTapClosed)
}
