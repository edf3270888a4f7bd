//go:build linux

package directio

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Whatever the start offset, stream length and write sizes, the file holds
// exactly the bytes written (after what was there before the offset), and
// Flush leaves it without O_DIRECT, positioned at the end.
func TestWriterKeepsEveryByte(t *testing.T) {
	dirs := map[string]string{"disk": t.TempDir()}
	if runtime.GOOS == "linux" {
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			// tmpfs is no local disk filesystem: the Writer writes
			// through the cache.
			d, err := os.MkdirTemp("/dev/shm", "directio-")
			require.NoError(t, err)
			t.Cleanup(func() { os.RemoveAll(d) })
			dirs["tmpfs"] = d
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for fs, dir := range dirs {
		for _, c := range []struct {
			off, n int64
			step   int
		}{
			{0, 0, 1},
			{0, 100, 7},
			{0, Align, Align},
			{0, BufSize, 1 << 16},
			{0, 3*BufSize + 123, 1<<20 + 3},
			{17, 2*BufSize + Align - 1, 5000},
			{Align - 1, BufSize, 1 << 20},
			{BufSize + 5, 10, 3},
		} {
			p := filepath.Join(dir, "f")
			head := make([]byte, c.off)
			for i := range head {
				head[i] = 'h'
			}
			require.NoError(t, os.WriteFile(p, head, 0o644))
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			require.NoError(t, err)
			want := make([]byte, c.n)
			for i := range want {
				want[i] = byte(rng.Uint32())
			}
			w := NewWriter(f, c.off)
			for rest := want; len(rest) > 0; {
				k := min(len(rest), c.step)
				n, err := w.Write(rest[:k])
				require.NoError(t, err)
				require.Equal(t, k, n)
				rest = rest[k:]
			}
			require.Equal(t, c.off+c.n, w.Offset())
			require.NoError(t, w.Flush(), "%s %+v", fs, c)
			if fs == "disk" && c.n >= BufSize && onLocalDisk(t, dir) {
				require.Greater(t, w.DirectBytes, c.n-BufSize, "%+v: most bytes go around the cache", c)
			}
			if fs == "tmpfs" {
				require.Zero(t, w.DirectBytes, "tmpfs is written through the cache")
			}
			fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
			require.NoError(t, err)
			require.Zero(t, fl&unix.O_DIRECT, "O_DIRECT left set")
			pos, err := f.Seek(0, 1)
			require.NoError(t, err)
			require.Equal(t, c.off+c.n, pos)
			require.NoError(t, f.Close())
			got, err := os.ReadFile(p)
			require.NoError(t, err)
			require.True(t, bytes.Equal(append(head, want...), got), "%s %+v: content differs", fs, c)
		}
	}
}

// A Writer can write again after a Flush (a blob writer flushes on Close
// and a later one resumes): the bytes land after the first ones.
func TestWriterAfterFlush(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(p)
	require.NoError(t, err)
	defer f.Close()
	a := bytes.Repeat([]byte("a"), BufSize+10)
	b := bytes.Repeat([]byte("b"), 2*BufSize)
	w := NewWriter(f, 0)
	_, err = w.Write(a)
	require.NoError(t, err)
	require.NoError(t, w.Flush())
	_, err = w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Flush())
	got, err := os.ReadFile(p)
	require.NoError(t, err)
	require.True(t, bytes.Equal(append(a, b...), got))
}

// Where direct writes are refused (failed set, as after EINVAL), every
// byte still goes through the cache.
func TestWriterRefusedWritesThroughTheCache(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(p)
	require.NoError(t, err)
	defer f.Close()
	want := bytes.Repeat([]byte("0123456789"), BufSize/3)
	w := NewWriter(f, 0)
	w.failed = true
	_, err = w.Write(want)
	require.NoError(t, err)
	require.NoError(t, w.Flush())
	require.Zero(t, w.DirectBytes)
	got, err := os.ReadFile(p)
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got))
}

func onLocalDisk(t *testing.T, dir string) bool {
	var st unix.Statfs_t
	require.NoError(t, unix.Statfs(dir, &st))
	return localDisk[int64(st.Type)]
}
