package bundle

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
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
