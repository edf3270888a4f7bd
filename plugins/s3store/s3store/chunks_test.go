package s3store

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chunks hold what was read, up to max, and read and seek like
// bytes.Reader (iotest.TestReader checks reads, seeks and ReadAt-free
// behaviour against the content).
func TestChunks(t *testing.T) {
	for _, n := range []int{0, 1, firstChunk - 1, firstChunk, firstChunk + 1, 3*maxChunk + 12345} {
		val := make([]byte, n)
		_, _ = rand.NewChaCha8([32]byte{byte(n)}).Read(val)
		c, err := readChunks(iotest.OneByteReader(bytes.NewReader(val)), 1<<30)
		require.ErrorIs(t, err, io.EOF)
		require.Equal(t, int64(n), c.size)
		require.NoError(t, iotest.TestReader(c.reader(), val), "%d bytes", n)

		r := c.reader()
		if n > 10 {
			_, err = r.Seek(int64(n/2), io.SeekStart)
			require.NoError(t, err)
			got, err := io.ReadAll(r)
			require.NoError(t, err)
			assert.Equal(t, val[n/2:], got)
		}
		// max bytes and no more
		if n > 5 {
			c, err := readChunks(bytes.NewReader(val), int64(n-5))
			require.NoError(t, err)
			got, _ := io.ReadAll(c.reader())
			assert.Equal(t, val[:n-5], got)
		}
	}
}
