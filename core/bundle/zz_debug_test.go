package bundle

import (
	"bytes"
	"math/rand"
	"testing"
	"time"
)

func TestZZDebug(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, sampleTree)
	layer, _ := packBytes(t, src, walk(t, src), PackOptions{})
	seeds := [][]byte{append([]byte("Z"), layer...), makeTar(t, dir("sub/"), symlink("l", "sub"), file("l/x", "x")), makeTar(t, file("a", "x"), file("a", "y"), dir("a/"))}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 300; i++ {
		data := bytes.Clone(seeds[r.Intn(len(seeds))])
		for k := r.Intn(4) + 1; k > 0; k-- {
			data[1+r.Intn(len(data)-1)] = byte(r.Intn(256))
		}
		if r.Intn(3) == 0 {
			data = data[:r.Intn(len(data))+1]
		}
		var in []byte
		if len(data) > 0 && data[0] == 'Z' {
			in = data[1:]
		} else {
			in = compress(t, data)
		}
		s := newSandbox(t)
		done := make(chan error, 1)
		start := time.Now()
		go func() {
			_, err := ExtractLayer(ctx, bytes.NewReader(in), s.target, ExtractOptions{MaxBytes: 16 << 20, MaxFiles: 10000})
			done <- err
		}()
		select {
		case err := <-done:
			if d := time.Since(start); d > 200*time.Millisecond {
				t.Logf("%d slow %v: %v", i, d, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%d hangs: zmode=%v len=%d", i, data[0] == 'Z', len(data))
		}
	}
}
