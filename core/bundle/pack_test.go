package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var sampleTree = map[string]string{
	"bin/python3":                   "->python3.11",
	"bin/python3.11":                "x:#!/bin/sh\necho python\n",
	"bin/tool":                      "x:#!/old/prefix/bin/python3\nprint('tool')\n",
	"lib/python3.11/site-packages/": "",
	"lib/python3.11/os.py":          "import sys\n",
	"lib/pkg/__init__.py":           "",
	"lib/pkg/data/big.bin":          strings.Repeat("0123456789abcdef", 100000),
	"lib/pkg/link-to-init":          "->__init__.py",
	"lib/pkg/up":                    "->../python3.11/os.py",
	"lib/pkg-extra/mod.py":          "x = 1\n",
	"lib/pkg/very/deep/" + strings.Repeat("long-name-", 12) + ".py": "long\n",
	"share/empty/": "",
}

func packBytes(t testing.TB, root string, paths []string, opts PackOptions) ([]byte, LayerInfo) {
	t.Helper()
	var b bytes.Buffer
	info, err := PackLayer(ctx, &b, root, paths, opts)
	require.NoError(t, err)
	return b.Bytes(), info
}

func walk(t testing.TB, root string) []string {
	t.Helper()
	paths, err := WalkFiles(root, "")
	require.NoError(t, err)
	return paths
}

func TestPackLayerDeterministic(t *testing.T) {
	a := t.TempDir()
	writeTree(t, a, sampleTree)
	layer1, info1 := packBytes(t, a, walk(t, a), PackOptions{})
	layer2, info2 := packBytes(t, a, walk(t, a), PackOptions{})
	require.Equal(t, layer1, layer2)
	require.Equal(t, info1, info2)
	require.Equal(t, digest.FromBytes(layer1), info1.Digest)
	require.Equal(t, int64(len(layer1)), info1.Size)

	// A copy elsewhere, made under another umask, with other mtimes, modes
	// and owners, and a hard link instead of a file.
	old := syscall.Umask(0o077)
	b := filepath.Join(t.TempDir(), "somewhere", "else")
	writeTree(t, b, sampleTree)
	syscall.Umask(old)
	big := filepath.Join(b, "lib/pkg/data/big.bin")
	require.NoError(t, os.Rename(big, big+".orig"))
	require.NoError(t, os.Link(big+".orig", big))
	require.NoError(t, os.Remove(big+".orig"))
	require.NoError(t, filepath.Walk(b, func(p string, fi os.FileInfo, err error) error {
		require.NoError(t, err)
		if fi.Mode()&os.ModeSymlink == 0 {
			require.NoError(t, os.Chtimes(p, time.Unix(12345, 678), time.Unix(987654321, 5)))
		}
		if fi.Mode().IsRegular() {
			perm := os.FileMode(0o600)
			if fi.Mode()&0o111 != 0 {
				perm = 0o710
			}
			require.NoError(t, os.Chmod(p, perm))
		}
		if os.Geteuid() == 0 {
			require.NoError(t, os.Lchown(p, 1234, 5678))
		}
		return nil
	}))
	// The order of paths given does not matter; neither do duplicates.
	paths := walk(t, b)
	rev := append([]string{}, paths...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	rev = append(rev, paths[3])
	layer3, info3 := packBytes(t, b, rev, PackOptions{})
	require.Equal(t, info1, info3)
	require.True(t, bytes.Equal(layer1, layer3), "a copy of the tree packs differently")
}

func TestPackLayerNormalizedHeaders(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, sampleTree)
	// List only some files: their parents must be added once, before them.
	layer, info := packBytes(t, root, []string{"lib/pkg/data/big.bin", "bin/tool", "lib/pkg/up", "lib/pkg/"}, PackOptions{})
	dec, err := zstd.NewReader(bytes.NewReader(layer))
	require.NoError(t, err)
	defer dec.Close()
	raw, err := io.ReadAll(dec)
	require.NoError(t, err)
	require.Equal(t, info.UncompressedSize, int64(len(raw)))
	tr := tar.NewReader(bytes.NewReader(raw))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names = append(names, h.Name)
		assert.Equal(t, int64(0), h.ModTime.Unix(), h.Name)
		assert.True(t, h.AccessTime.IsZero() && h.ChangeTime.IsZero(), h.Name)
		assert.Zero(t, h.Uid)
		assert.Zero(t, h.Gid)
		assert.Empty(t, h.Uname)
		assert.Empty(t, h.Gname)
		switch h.Typeflag {
		case tar.TypeDir:
			assert.Equal(t, int64(0o755), h.Mode, h.Name)
		case tar.TypeReg:
			want := int64(0o644)
			if h.Name == "bin/tool" {
				want = 0o755
			}
			assert.Equal(t, want, h.Mode, h.Name)
		case tar.TypeSymlink:
			assert.Equal(t, "../python3.11/os.py", h.Linkname)
		default:
			t.Fatalf("unexpected type %q", h.Typeflag)
		}
	}
	require.Equal(t, []string{"bin/", "bin/tool", "lib/", "lib/pkg/", "lib/pkg/data/", "lib/pkg/data/big.bin", "lib/pkg/up"}, names)
	require.Equal(t, len(names), info.Files)
}

func TestPackLayerTransform(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, sampleTree)
	var seen []string
	opts := PackOptions{
		Rewrite: func(rel string) bool { return strings.HasPrefix(rel, "bin/") },
		Transform: func(rel string, data []byte) ([]byte, bool) {
			seen = append(seen, rel)
			if !bytes.Contains(data, []byte("/old/prefix")) {
				return nil, false
			}
			return bytes.ReplaceAll(data, []byte("/old/prefix"), []byte("/new")), true
		},
	}
	layer, _ := packBytes(t, root, walk(t, root), opts)
	require.Equal(t, []string{"bin/python3.11", "bin/tool"}, seen, "Transform sees only marked regular files")
	dest := t.TempDir()
	_, err := ExtractLayer(ctx, bytes.NewReader(layer), dest, ExtractOptions{})
	require.NoError(t, err)
	got := readTree(t, dest)
	require.Equal(t, "x:#!/new/bin/python3\nprint('tool')\n", got["bin/tool"])
	require.Equal(t, sampleTree["bin/python3.11"], got["bin/python3.11"])
}

func TestPackLayerRefusals(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"ok.py":        "",
		"abs":          "->/usr/bin/python3",
		"esc":          "->../outside",
		"dotdot":       "->a/../../x",
		"file":         "plain",
		"linkdir":      "->sub",
		"sub/x":        "x",
		"fifo-dir/":    "",
		"sock-dir/":    "",
		"more/b/c.txt": "c",
	})
	require.NoError(t, syscall.Mkfifo(filepath.Join(root, "fifo-dir/fifo"), 0o644))
	l, err := net.Listen("unix", filepath.Join(root, "sock-dir/sock"))
	require.NoError(t, err)
	defer l.Close()

	for _, tc := range []struct {
		paths []string
		want  string
	}{
		{[]string{"fifo-dir/fifo"}, "fifo"},
		{[]string{"sock-dir/sock"}, "socket"},
		{[]string{"abs"}, "absolute"},
		{[]string{"esc"}, "leaves the root"},
		{[]string{"dotdot"}, `".." after a name`},
		{[]string{"file", "file/x"}, "not a directory"},
		{[]string{"linkdir/x"}, "not a directory"},
		{[]string{"../x"}, "escapes"},
		{[]string{"/etc/passwd"}, "absolute"},
		{[]string{"a//b"}, "empty segment"},
		{[]string{"./a"}, `"." segment`},
	} {
		_, err := PackLayer(ctx, io.Discard, root, tc.paths, PackOptions{})
		var fe *FileError
		require.ErrorAs(t, err, &fe, "%v", tc.paths)
		require.Contains(t, err.Error(), tc.want)
		require.NotContains(t, err.Error(), "\n")
	}
	_, err = PackLayer(ctx, io.Discard, root, []string{"missing"}, PackOptions{})
	require.ErrorIs(t, err, os.ErrNotExist)
	// The fifo error names the file on disk.
	_, err = PackLayer(ctx, io.Discard, root, []string{"fifo-dir/fifo"}, PackOptions{})
	require.Contains(t, err.Error(), filepath.Join(root, "fifo-dir/fifo"))
}

func TestPackLayersMatchesPackLayer(t *testing.T) {
	root := t.TempDir()
	pkgs := genTree(t, root, 600, 8<<20, 7)
	tmp := t.TempDir()
	var jobs []LayerJob
	var want [][]byte
	for i, p := range pkgs {
		paths, err := WalkFiles(root, p)
		require.NoError(t, err)
		b, _ := packBytes(t, root, paths, PackOptions{})
		want = append(want, b)
		job := LayerJob{Root: root, Paths: paths}
		if i%2 == 0 {
			job.Writer = new(bytes.Buffer)
		} else {
			job.Dir = tmp
		}
		jobs = append(jobs, job)
	}
	res, err := PackLayers(ctx, jobs, 3)
	require.NoError(t, err)
	require.Len(t, res, len(jobs))
	for i, r := range res {
		var got []byte
		if jobs[i].Writer != nil {
			require.Empty(t, r.Path)
			got = jobs[i].Writer.(*bytes.Buffer).Bytes()
		} else {
			require.Equal(t, tmp, filepath.Dir(r.Path))
			got, err = os.ReadFile(r.Path)
			require.NoError(t, err)
		}
		require.Equal(t, want[i], got, "layer %d", i)
		require.Equal(t, digest.FromBytes(got), r.Digest)
	}

	// A failing job removes the temporary files and returns its error.
	tmp2 := t.TempDir()
	jobs = []LayerJob{
		{Root: root, Paths: []string{"lib"}, Dir: tmp2},
		{Root: root, Paths: []string{"no/such/file"}, Dir: tmp2},
		{Root: root, Paths: []string{"lib"}, Dir: tmp2},
	}
	_, err = PackLayers(ctx, jobs, 2)
	require.ErrorIs(t, err, os.ErrNotExist)
	left, _ := os.ReadDir(tmp2)
	require.Empty(t, left)
}

func TestPackLayerCanceled(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, sampleTree)
	c, cancel := context.WithCancel(ctx)
	cancel()
	_, err := PackLayer(c, io.Discard, root, walk(t, root), PackOptions{})
	require.True(t, errors.Is(err, context.Canceled))
}

func TestWalkFiles(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, sampleTree)
	all, err := WalkFiles(root, "")
	require.NoError(t, err)
	require.Contains(t, all, "bin/python3")
	require.Contains(t, all, "share/empty")
	require.Contains(t, all, "lib/pkg-extra")
	require.True(t, isSorted(all))
	sub, err := WalkFiles(root, "lib/pkg")
	require.NoError(t, err)
	require.Equal(t, "lib/pkg", sub[0])
	for _, p := range sub {
		require.True(t, p == "lib/pkg" || strings.HasPrefix(p, "lib/pkg/"), p)
	}
	_, err = WalkFiles(root, "nope")
	require.ErrorIs(t, err, os.ErrNotExist)
}

func isSorted(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}

// cancelWriter cancels a context once it has taken limit bytes, and counts
// what it takes.
type cancelWriter struct {
	mu     sync.Mutex
	n      int
	limit  int
	cancel func()
}

func (c *cancelWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += len(p)
	if c.n > c.limit {
		c.cancel()
	}
	return len(p), nil
}

func (c *cancelWriter) written() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// Frames are compressed and written asynchronously: after PackLayer returns
// an error, it must not write to w anymore. The context is cancelled when
// the first frame reaches w, with more than a frame of tar still to come.
func TestPackLayerNoWriteAfterError(t *testing.T) {
	root := t.TempDir()
	genTree(t, root, 200, 16*FrameSize, 9)
	c, cancel := context.WithCancel(ctx)
	w := &cancelWriter{limit: 0, cancel: cancel}
	_, err := PackLayer(c, w, root, walk(t, root), PackOptions{})
	require.ErrorIs(t, err, context.Canceled)
	n := w.written()
	time.Sleep(100 * time.Millisecond)
	require.Equal(t, n, w.written())
	// The shared encoder is fine for the next layer.
	a, _ := packBytes(t, root, walk(t, root), PackOptions{})
	b, _ := packBytes(t, root, walk(t, root), PackOptions{})
	require.Equal(t, a, b)
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// TestDirCursor opens files through a dirCursor in an order that goes down,
// up, across folders whose names share a prefix (a/b, a/bc) and back to the
// root, and checks each file read is the one named, that a missing folder
// or file is an error naming the file's path, and that no folder stays
// open after close.
func TestDirCursor(t *testing.T) {
	root := t.TempDir()
	paths := []string{"top", "a/x", "a/b/y", "a/b/c/d/z", "a/b/c/w", "a/bc/v", "a/bc/e/u", "a/t", "b/s", "top2", "a/b/c/d/z2"}
	for _, p := range paths {
		full := filepath.Join(root, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte("content of "+p), 0o644))
	}
	before := openFDs(t)
	c := &dirCursor{root: root}
	for _, p := range paths {
		f, err := c.open(p)
		require.NoError(t, err, p)
		got, err := io.ReadAll(f)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		require.Equal(t, "content of "+p, string(got))
		require.LessOrEqual(t, len(c.fds), 1+strings.Count(p, "/"), "folders open for %s", p)
	}
	for _, p := range []string{"a/nope/f", "a/b/nope", "top/f"} {
		_, err := c.open(p)
		require.Error(t, err, p)
		require.Contains(t, err.Error(), filepath.Join(root, filepath.FromSlash(p)))
	}
	f, err := c.open("a/bc/e/u") // still works after errors
	require.NoError(t, err)
	require.NoError(t, f.Close())
	c.close()
	require.Equal(t, before, openFDs(t), "descriptors left open")
}
