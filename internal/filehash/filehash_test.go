package filehash_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/internal/filehash"
)

// TestSHA256 hashes a file to the known digest of its bytes and says a
// missing file is not there.
func TestSHA256(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(p, []byte("abc"), 0o644))
	sum, err := filehash.SHA256(p)
	require.NoError(t, err)
	assert.Equal(t, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", sum)
	_, err = filehash.SHA256(filepath.Join(t.TempDir(), "missing"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// TestXXH64 hashes a file to the XXH64 test vector of its bytes and says a
// missing file is not there.
func TestXXH64(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(p, []byte("abc"), 0o644))
	sum, err := filehash.XXH64(p)
	require.NoError(t, err)
	assert.Equal(t, uint64(0x44bc2cf5ad770999), sum)
	_, err = filehash.XXH64(filepath.Join(t.TempDir(), "missing"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
