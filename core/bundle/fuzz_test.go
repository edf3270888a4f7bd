package bundle

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzReadSWRT: ReadSWRT never panics, and writes nothing but blob files
// named by their hex digest, directly in its directory.
func FuzzReadSWRT(f *testing.F) {
	b := sampleBundle(f)
	f.Add(b.swrt)
	f.Add(b.swrt[:len(b.swrt)/2])
	entries := readEntries(f, b.swrt)
	f.Add(makeTar(f, append(entries, file("../x", "x"))...))
	f.Add(makeTar(f, append(entries, symlink("blobs/sha256/x", "/etc"))...))
	f.Add(makeTar(f, entries[0], entries[1]))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSandbox(t)
		l, err := ReadSWRT(ctx, bytes.NewReader(data), s.target, Limits{MaxTotal: 8 << 20, MaxBlobs: 64})
		s.check(t)
		files, rerr := os.ReadDir(s.target)
		require.NoError(t, rerr)
		for _, e := range files {
			require.True(t, e.Type().IsRegular(), e.Name())
			require.True(t, isHex64(e.Name()), e.Name())
		}
		if err == nil {
			for _, p := range l.Blobs {
				require.Equal(t, s.target, filepath.Dir(p))
			}
		}
	})
}

// FuzzExtractLayer: ExtractLayer never panics and never writes outside its
// destination. The input is a tar, compressed before extraction, or, after a
// leading 'Z', a compressed layer as it is.
func FuzzExtractLayer(f *testing.F) {
	src := f.TempDir()
	writeTree(f, src, sampleTree)
	layer, _ := packBytes(f, src, walk(f, src), PackOptions{})
	f.Add(append([]byte("Z"), layer...))
	f.Add(append([]byte("Z"), layer[:len(layer)/3]...))
	f.Add(makeTar(f, dir("sub/"), symlink("l", "sub"), file("l/x", "x")))
	f.Add(makeTar(f, symlink("s", "."), symlink("l", "s/../outside"), file("l/sentinel", "x")))
	f.Add(makeTar(f, file("../outside/sentinel", "x")))
	f.Add(makeTar(f, tent{name: "h", typ: tar.TypeLink, link: "../outside/sentinel"}))
	f.Add(makeTar(f, file("a", "x"), file("a", "y"), dir("a/")))
	f.Fuzz(func(t *testing.T, data []byte) {
		var in []byte
		if len(data) > 0 && data[0] == 'Z' {
			in = data[1:]
		} else {
			in = compress(t, data)
		}
		s := newSandbox(t)
		_, _ = ExtractLayer(ctx, bytes.NewReader(in), s.target, ExtractOptions{MaxBytes: 16 << 20, MaxFiles: 10000})
		s.check(t)
	})
}
