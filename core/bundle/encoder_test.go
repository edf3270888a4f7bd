package bundle

import (
	"archive/tar"
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestEncoderConcurrencySameBytes checks that the encoder newEncoder makes
// (asynchronous block encoding) writes exactly the bytes of a synchronous
// one (concurrency 1), for a tar stream of compressible text and
// incompressible data over several blocks and windows, written in small and
// large pieces.
func TestEncoderConcurrencySameBytes(t *testing.T) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 40; i++ {
		var data []byte
		switch i % 3 {
		case 0:
			data = make([]byte, 256<<10+rng.IntN(1<<20))
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
		case 1:
			var b bytes.Buffer
			for b.Len() < 100<<10+rng.IntN(300<<10) {
				fmt.Fprintf(&b, "def f_%d(x):\n    return x * %d\n", rng.IntN(5000), rng.IntN(100))
			}
			data = b.Bytes()
		default:
			data = bytes.Repeat([]byte{byte(i)}, rng.IntN(3<<20))
		}
		if err := tw.WriteHeader(fileHeader(fmt.Sprintf("f%02d", i), int64(len(data)), false)); err != nil {
			t.Fatal(err)
		}
		for len(data) > 0 { // uneven writes, as tar and writeFile make
			n := min(len(data), 1+rng.IntN(300<<10))
			if _, err := tw.Write(data[:n]); err != nil {
				t.Fatal(err)
			}
			data = data[n:]
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	in := tarBuf.Bytes()
	compress := func(concurrency int) []byte {
		enc, err := newEncoderWith(concurrency)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		enc.Reset(&out)
		for p := in; len(p) > 0; {
			n := min(len(p), 512+rng.IntN(2<<20))
			if _, err := enc.Write(p[:n]); err != nil {
				t.Fatal(err)
			}
			p = p[n:]
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	want := compress(1)
	for _, c := range []int{encoderConcurrency, 4} {
		if got := compress(c); !bytes.Equal(got, want) {
			t.Fatalf("concurrency %d: %d bytes differ from concurrency 1's %d bytes", c, len(got), len(want))
		}
	}
}
