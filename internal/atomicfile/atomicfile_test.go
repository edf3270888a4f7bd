package atomicfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/internal/atomicfile"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "f.yaml")
	require.NoError(t, atomicfile.Write(p, []byte("one"), 0o600))
	require.NoError(t, atomicfile.Write(p, []byte("two"), 0o644))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "two", string(b))
	st, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())
	left, _ := os.ReadDir(filepath.Dir(p))
	assert.Len(t, left, 1, "no temp file is left behind")

	// A failed write (the target is a folder) leaves the folder alone.
	require.NoError(t, os.Mkdir(filepath.Join(dir, "d"), 0o755))
	require.Error(t, atomicfile.Write(filepath.Join(dir, "d"), []byte("x"), 0o644))
	st, err = os.Stat(filepath.Join(dir, "d"))
	require.NoError(t, err)
	assert.True(t, st.IsDir())
}

func TestWriteVolatile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "job.json")
	require.NoError(t, atomicfile.WriteVolatile(p, []byte("running"), 0o644))
	require.NoError(t, atomicfile.WriteVolatile(p, []byte("still running"), 0o600))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "still running", string(b))
	st, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	left, _ := os.ReadDir(filepath.Dir(p))
	assert.Len(t, left, 1, "no temp file is left behind")
}
