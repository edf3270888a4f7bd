package linkfile_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/internal/linkfile"
)

func src(t *testing.T, dir string) string {
	p := filepath.Join(dir, "f.py")
	require.NoError(t, os.WriteFile(p, []byte("x = 1\n"), 0o444))
	return p
}

func TestModes(t *testing.T) {
	dir := t.TempDir()
	s := src(t, dir)
	sst, _ := os.Stat(s)
	for _, m := range []linkfile.Mode{linkfile.Auto, linkfile.Clone, linkfile.Hardlink, linkfile.Copy} {
		var logs []string
		l := &linkfile.Linker{Mode: m, Logf: func(f string, a ...any) { logs = append(logs, f) }}
		d := filepath.Join(dir, "out-"+string(m))
		require.NoError(t, l.Link(s, d))
		got, err := os.ReadFile(d)
		require.NoError(t, err)
		assert.Equal(t, "x = 1\n", string(got))
		dst, _ := os.Stat(d)
		assert.Equal(t, sst.ModTime(), dst.ModTime(), "mtime kept (%s)", m)
		if os.SameFile(sst, dst) {
			assert.NotEqual(t, linkfile.Copy, m, "copy never shares the inode")
		} else {
			assert.NotZero(t, dst.Mode().Perm()&0o200, "an own copy is writable (%s)", m)
			assert.NotEqual(t, linkfile.Hardlink, m, "hardlink on one filesystem shares the inode")
		}
		assert.LessOrEqual(t, len(logs), 1, "a fallback is reported once")
	}
	_, err := linkfile.Parse("symlink")
	assert.ErrorContains(t, err, "clone, hardlink, copy")
}

// TestAcrossFilesystems links from a tmpfs into the test's folder: hardlink
// cannot, so the file is copied.
func TestAcrossFilesystems(t *testing.T) {
	other := "/dev/shm"
	var a, b syscall.Stat_t
	dir := t.TempDir()
	if syscall.Stat(other, &a) != nil || syscall.Stat(dir, &b) != nil || a.Dev == b.Dev {
		t.Skip("no second filesystem (/dev/shm) here")
	}
	sd, err := os.MkdirTemp(other, "linkfile-")
	require.NoError(t, err)
	defer os.RemoveAll(sd)
	s := src(t, sd)
	var logs []string
	l := &linkfile.Linker{Mode: linkfile.Hardlink, Logf: func(f string, a ...any) { logs = append(logs, f) }}
	for _, n := range []string{"a", "b"} {
		require.NoError(t, l.Link(s, filepath.Join(dir, n)))
		got, _ := os.ReadFile(filepath.Join(dir, n))
		assert.Equal(t, "x = 1\n", string(got))
	}
	assert.Len(t, logs, 1, "the fallback to copy is said once")
}
