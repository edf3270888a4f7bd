package bundle

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/stretchr/testify/require"
)

// Layers with disjoint files but shared (and missing) parent directories
// extract into one dest at the same time, as restore does with env layers.
func TestExtractLayersConcurrently(t *testing.T) {
	const layers = 8
	var blobs [][]byte
	want := map[string]string{}
	for l := 0; l < layers; l++ {
		var ents []tent
		for i := 0; i < 50; i++ {
			name := fmt.Sprintf("lib/python3.11/site-packages/p%d/m%02d/f%d.py", l, i%5, i)
			body := fmt.Sprintf("layer %d file %d\n", l, i)
			want[name] = body
			ents = append(ents, file(name, body))
		}
		// Every layer also lists the shared parents, as PackLayer writes them.
		ents = append([]tent{dir("lib"), dir("lib/python3.11"), dir("lib/python3.11/site-packages")}, ents...)
		blobs = append(blobs, compress(t, makeTar(t, ents...)))
	}
	for round := 0; round < 5; round++ {
		dest := filepath.Join(t.TempDir(), "env")
		var wg sync.WaitGroup
		errs := make([]error, layers)
		for l := range blobs {
			wg.Go(func() {
				_, errs[l] = ExtractLayer(ctx, bytes.NewReader(blobs[l]), dest, ExtractOptions{})
			})
		}
		wg.Wait()
		for l, err := range errs {
			if err != nil {
				t.Fatalf("round %d, layer %d: %v", round, l, err)
			}
		}
		got := readTree(t, dest)
		for name, body := range want {
			if got[name] != body {
				t.Fatalf("round %d: %s = %q, want %q", round, name, got[name], body)
			}
		}
	}
}

// A layer of many small files mixed with large ones (more than one read
// buffer) in many folders comes out whole; a file that cannot be created
// fails the extraction.
func TestExtractLayerKeepsEveryFile(t *testing.T) {
	var ents []tent
	want := map[string]string{}
	for i := 0; i < 3000; i++ {
		d := fmt.Sprintf("pkg/sub%02d", i%37)
		if i < 37 {
			ents = append(ents, dir(d+"/"))
		}
		name := fmt.Sprintf("%s/f%04d.py", d, i)
		body := fmt.Sprintf("file %d\n", i)
		if i%500 == 7 {
			body = strings.Repeat(body, bufSize/len(body)+10) // more than one read buffer
		}
		want[name] = body
		ents = append(ents, file(name, body))
	}
	blob := compress(t, makeTar(t, ents...))
	dest := filepath.Join(t.TempDir(), "env")
	st, err := ExtractLayer(ctx, bytes.NewReader(blob), dest, ExtractOptions{})
	require.NoError(t, err)
	require.Equal(t, 3000, st.Files)
	got := readTree(t, dest)
	for name, body := range want {
		require.Equal(t, body, got[name], name)
	}

	dest = filepath.Join(t.TempDir(), "env")
	require.NoError(t, os.MkdirAll(filepath.Join(dest, fmt.Sprintf("pkg/sub%02d/f2000.py", 2000%37)), 0o755))
	_, err = ExtractLayer(ctx, bytes.NewReader(blob), dest, ExtractOptions{})
	var fe *FormatError
	require.ErrorAs(t, err, &fe)
	require.Contains(t, err.Error(), "replace an existing directory")
}

// Sums hears every regular file once, with the XXH64 of what was
// written and its mode, a small file and one of several read buffers
// alike; with ReadOnly the files are made without write bits, and Sums
// still hears the modes the layer means.
func TestExtractLayerSums(t *testing.T) {
	small, large := "small\n", strings.Repeat("large\n", 2*bufSize/6+100)
	exe := file("d/x", "#!/bin/sh\n")
	exe.mode = 0o755
	blob := compress(t, makeTar(t, dir("d/"), file("d/s", small), file("d/l", large), exe, symlink("d/ln", "s")))
	type heard struct {
		mode fs.FileMode
		sum  uint64
	}
	want := map[string]heard{
		"d/s": {0o644, xxhash.Sum64String(small)},
		"d/l": {0o644, xxhash.Sum64String(large)},
		"d/x": {0o755, xxhash.Sum64String("#!/bin/sh\n")},
	}
	for _, ro := range []bool{false, true} {
		var mu sync.Mutex
		got := map[string]heard{}
		stats := map[string]FileSum{}
		dest := t.TempDir()
		_, err := ExtractLayer(ctx, bytes.NewReader(blob), dest, ExtractOptions{ReadOnly: ro, Sums: func(name string, f FileSum) {
			mu.Lock()
			defer mu.Unlock()
			got[name] = heard{f.Mode, f.XXH64}
			stats[name] = f
		}})
		require.NoError(t, err)
		require.Equal(t, want, got)
		for name, h := range want {
			st, err := os.Stat(filepath.Join(dest, name))
			require.NoError(t, err)
			perm := h.mode
			if ro {
				perm &^= 0o222
			}
			require.Equal(t, perm, st.Mode().Perm(), "%s, ReadOnly %v", name, ro)
			// The inode and mtime heard are the file's as it is now.
			sys := st.Sys().(*syscall.Stat_t)
			require.Equal(t, FileSum{Size: st.Size(), Mode: h.mode, XXH64: h.sum, Inode: sys.Ino, MTimeNS: st.ModTime().UnixNano()}, stats[name], name)
		}
	}
}
