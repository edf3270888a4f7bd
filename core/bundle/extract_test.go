package bundle

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

func TestPackExtractRoundTrip(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, sampleTree)
	layer, info := packBytes(t, src, walk(t, src), PackOptions{})

	old := syscall.Umask(0o077) // modes come from the layer, not the umask
	defer syscall.Umask(old)
	dest := filepath.Join(t.TempDir(), "new", "env")
	stats, err := ExtractLayer(ctx, bytes.NewReader(layer), dest, ExtractOptions{MaxBytes: info.UncompressedSize, MaxFiles: info.Files, Digest: info.Digest})
	require.NoError(t, err)
	require.Equal(t, readTree(t, src), readTree(t, dest))
	require.Equal(t, info.Files, stats.Files+stats.Dirs+stats.Symlinks)
	for _, name := range []string{"lib/pkg/__init__.py", "bin/tool", "lib/pkg"} {
		fi, err := os.Stat(filepath.Join(dest, name))
		require.NoError(t, err)
		want := os.FileMode(0o644)
		if name != "lib/pkg/__init__.py" {
			want = 0o755
		}
		require.Equal(t, want, fi.Mode().Perm(), name)
	}

	// A second layer over the first replaces files and symlinks, keeps
	// directories.
	over := t.TempDir()
	writeTree(t, over, map[string]string{"bin/tool": "new tool", "bin/python3": "->tool", "lib/pkg/extra.py": "e"})
	layer2, _ := packBytes(t, over, walk(t, over), PackOptions{})
	_, err = ExtractLayer(ctx, bytes.NewReader(layer2), dest, ExtractOptions{})
	require.NoError(t, err)
	got := readTree(t, dest)
	require.Equal(t, "new tool", got["bin/tool"])
	require.Equal(t, "->tool", got["bin/python3"])
	require.Equal(t, "e", got["lib/pkg/extra.py"])
	require.Equal(t, sampleTree["lib/pkg/data/big.bin"], got["lib/pkg/data/big.bin"])
}

func TestExtractLayerHostile(t *testing.T) {
	type tc struct {
		layer []byte
		opts  ExtractOptions
		want  string
		pre   func(s *sandbox) // prepares the target
	}
	z := func(es ...tent) []byte { return compress(t, makeTar(t, es...)) }
	good := z(dir("a/"), file("a/x", "hello"), file("a/y", strings.Repeat("y", 10000)))
	cases := map[string]tc{
		"absolute path":         {layer: z(file("/tmp/evil", "x")), want: "absolute path"},
		"dotdot":                {layer: z(file("../evil", "x")), want: "path escapes the destination"},
		"dotdot inside":         {layer: z(dir("a/"), file("a/../../evil", "x")), want: "path escapes"},
		"absolute symlink":      {layer: z(symlink("l", "/etc")), want: "is absolute"},
		"escaping symlink":      {layer: z(symlink("a/l", "../../outside")), want: "leaves the root"},
		"symlink dotdot trick":  {layer: z(symlink("s", "."), symlink("l", "s/../outside")), want: `".." after a name`},
		"symlink then file":     {layer: z(dir("sub/"), symlink("l", "sub"), file("l/x", "x")), want: "through the symlink"},
		"symlink then dir":      {layer: z(symlink("l", "."), dir("l/d/")), want: "through the symlink"},
		"symlink then symlink":  {layer: z(dir("a/"), symlink("a/l", ".."), symlink("a/l/m", "x")), want: "through the symlink"},
		"file then file under":  {layer: z(file("f", "x"), file("f/x", "x")), want: "through the file"},
		"existing escape link":  {layer: z(file("evil/x", "x")), want: "through the symlink", pre: func(s *sandbox) { s.link(t, "evil") }},
		"hardlink":              {layer: z(file("a", "x"), tent{name: "b", typ: tar.TypeLink, link: "a"}), want: "hard links"},
		"hardlink outside":      {layer: z(tent{name: "b", typ: tar.TypeLink, link: "../outside/sentinel"}), want: "hard links"},
		"char device":           {layer: z(tent{name: "null", typ: tar.TypeChar}), want: "device"},
		"block device":          {layer: z(tent{name: "sda", typ: tar.TypeBlock}), want: "device"},
		"fifo":                  {layer: z(tent{name: "p", typ: tar.TypeFifo}), want: "fifo"},
		"global header":         {layer: z(tent{name: "g", typ: tar.TypeXGlobalHeader}), want: "bundle: "},
		"duplicate":             {layer: z(file("a", "1"), file("a", "2")), want: "duplicate entry"},
		"duplicate kinds":       {layer: z(file("a", "1"), dir("a/")), want: "duplicate entry"},
		"dir replaces file":     {layer: z(dir("a/")), want: "would replace", pre: func(s *sandbox) { os.WriteFile(filepath.Join(s.target, "a"), nil, 0o644) }},
		"file replaces dir":     {layer: z(file("a", "1")), want: "replace an existing directory", pre: func(s *sandbox) { os.Mkdir(filepath.Join(s.target, "a"), 0o755) }},
		"symlink replaces dir":  {layer: z(symlink("a", "b")), want: "replace an existing directory", pre: func(s *sandbox) { os.Mkdir(filepath.Join(s.target, "a"), 0o755) }},
		"names the destination": {layer: z(file(".", "x")), want: "destination itself"},
		"tar bomb":              {layer: good, opts: ExtractOptions{MaxBytes: 5000}, want: "expands beyond 5000 bytes"},
		"tar bomb exact":        {layer: good, opts: ExtractOptions{MaxBytes: int64(len(makeTar(t, dir("a/"), file("a/x", "hello"), file("a/y", strings.Repeat("y", 10000))))) - 1}, want: "expands beyond"},
		"too many files":        {layer: good, opts: ExtractOptions{MaxFiles: 2}, want: "more than 2 entries"},
		"digest mismatch":       {layer: good, opts: ExtractOptions{Digest: digest.FromString("other")}, want: "layer digest is"},
		"not zstd":              {layer: []byte("this is not a zstd stream at all"), want: "corrupt layer"},
		"not a tar":             {layer: compress(t, bytes.Repeat([]byte("garbage!"), 200)), want: "bundle: "},
		"zstd of nothing":       {layer: compress(t, nil), want: "truncated"},
		"tar without end":       {layer: compress(t, makeTar(t, file("a", "x"))[:1024]), want: "truncated"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s := newSandbox(t)
			if c.pre != nil {
				c.pre(s)
			}
			_, err := ExtractLayer(ctx, bytes.NewReader(c.layer), s.target, c.opts)
			if c.want == "" {
				require.NoError(t, err)
			} else {
				var fe *FormatError
				require.ErrorAs(t, err, &fe)
				require.Contains(t, err.Error(), c.want)
				require.NotContains(t, err.Error(), "\n")
			}
			s.check(t)
		})
	}
	// The exact limit is fine.
	s := newSandbox(t)
	raw := makeTar(t, dir("a/"), file("a/x", "hello"), file("a/y", strings.Repeat("y", 10000)))
	_, err := ExtractLayer(ctx, bytes.NewReader(good), s.target, ExtractOptions{MaxBytes: int64(len(raw)), MaxFiles: 3, Digest: digest.FromBytes(good)})
	require.NoError(t, err)

	// A later layer may replace an escaping symlink already in the target
	// (the link itself, not what it points to).
	s = newSandbox(t)
	s.link(t, "evil")
	_, err = ExtractLayer(ctx, bytes.NewReader(z(file("evil", "mine"))), s.target, ExtractOptions{})
	require.NoError(t, err)
	s.check(t)
}

func TestExtractLayerTruncated(t *testing.T) {
	src := t.TempDir()
	genTree(t, src, 60, 1<<20, 3)
	layer, info := packBytes(t, src, walk(t, src), PackOptions{})
	n := len(layer)
	sawUnexpectedEOF := false
	for _, off := range []int{0, 1, 4, 10, 100, 1000, n / 4, n / 2, n - 100, n - 5, n - 1} {
		s := newSandbox(t)
		_, err := ExtractLayer(ctx, bytes.NewReader(layer[:off]), s.target, ExtractOptions{MaxBytes: info.UncompressedSize})
		var fe *FormatError
		require.ErrorAs(t, err, &fe, "offset %d of %d", off, n)
		sawUnexpectedEOF = sawUnexpectedEOF || errors.Is(err, io.ErrUnexpectedEOF)
		s.check(t)
	}
	require.True(t, sawUnexpectedEOF)
	// Truncated in the tar itself (a valid zstd stream of a partial tar).
	raw := makeTar(t, file("a", strings.Repeat("a", 5000)))
	s := newSandbox(t)
	_, err := ExtractLayer(ctx, bytes.NewReader(compress(t, raw[:3000])), s.target, ExtractOptions{})
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	var fe *FormatError
	require.ErrorAs(t, err, &fe)
	s.check(t)
}

func TestExtractLayerInputError(t *testing.T) {
	src := t.TempDir()
	genTree(t, src, 60, 1<<20, 3)
	layer, _ := packBytes(t, src, walk(t, src), PackOptions{})
	boom := errors.New("disk on fire")
	r := io.MultiReader(bytes.NewReader(layer[:len(layer)/2]), errReaderOf(boom))
	_, err := ExtractLayer(ctx, r, t.TempDir(), ExtractOptions{})
	require.ErrorIs(t, err, boom)
}

func TestCheckSymlinkTarget(t *testing.T) {
	for _, c := range []struct {
		name, target string
		ok           bool
	}{
		{"bin/python3", "python3.11", true},
		{"lib/libpython.so", "libpython.so.1.0", true},
		{"a/b/c", "../../x", true},
		{"a/b/c", "../../../x", false},
		{"a/b/c", "./../x", true},
		{"a/b/c", "..", true},
		{"c", "..", false},
		{"c", ".", true},
		{"a/c", "x/../y", false},
		{"a/c", "/abs", false},
		{"a/c", "", false},
	} {
		got := checkSymlinkTarget(c.name, c.target) == ""
		require.Equal(t, c.ok, got, "%s -> %s", c.name, c.target)
	}
}

// An input error in the middle of a file larger than one writer chunk (a
// file streamed to its writer) is the extraction's error, not a short file.
func TestExtractLayerInputErrorInABigFile(t *testing.T) {
	big := genBinary(rand.New(rand.NewPCG(1, 2)), 3*writeChunk)
	layer := compress(t, makeTar(t, dir("d/"), file("d/big.so", string(big))))
	boom := errors.New("disk on fire")
	for i := 0; i < 20; i++ {
		r := io.MultiReader(bytes.NewReader(layer[:len(layer)/2]), errReaderOf(boom))
		_, err := ExtractLayer(ctx, r, t.TempDir(), ExtractOptions{})
		require.ErrorIs(t, err, boom)
	}
}
