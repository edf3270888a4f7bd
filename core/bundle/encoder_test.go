package bundle

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestFramesSameBytes checks that a layer's compressed stream depends only
// on its tar bytes: frameWriter (frames compressed in parallel by the shared
// encoder) writes exactly the frames that a synchronous encoder of
// concurrency 1 makes of each FrameSize piece, one after the other, however
// the tar is written (small and large pieces); and that a zstd reader reads
// the frames back as the one tar stream. The stream mixes compressible text
// and incompressible data over several frames.
func TestFramesSameBytes(t *testing.T) {
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
	if len(in) < 3*FrameSize {
		t.Fatalf("test stream of %d bytes is shorter than 3 frames", len(in))
	}
	// The format: FrameSize pieces, each compressed on its own.
	one, err := newEncoderWith(1)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for p := in; len(p) > 0; {
		n := min(len(p), FrameSize)
		want = one.EncodeAll(p[:n], want)
		p = p[n:]
	}
	for round, maxPiece := range []int{1 << 10, 2 << 20, 9 << 20} {
		var out bytes.Buffer
		fw, err := newFrameWriter(&out)
		if err != nil {
			t.Fatal(err)
		}
		for p := in; len(p) > 0; {
			n := min(len(p), 1+rng.IntN(maxPiece))
			if _, err := fw.Write(p[:n]); err != nil {
				t.Fatal(err)
			}
			p = p[n:]
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("round %d (pieces up to %d bytes): %d bytes differ from the %d bytes of the frames made one by one", round, maxPiece, out.Len(), len(want))
		}
	}
	dec, err := zstd.NewReader(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	back, err := io.ReadAll(dec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, in) {
		t.Fatalf("the frames decode to %d bytes, not the %d bytes of the tar stream", len(back), len(in))
	}
}

// failWriter fails every write after the first n bytes.
type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, errors.New("disk full")
	}
	f.n -= len(p)
	return len(p), nil
}

// TestFramesWriteError checks that an error of the destination reaches the
// writer of the tar stream and Close, and that Close still returns (the
// frames on their way are waited for).
func TestFramesWriteError(t *testing.T) {
	fw, err := newFrameWriter(&failWriter{n: 100})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, FrameSize) // incompressible: every frame is bigger than 100 bytes
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	var werr error
	for i := 0; i < 10 && werr == nil; i++ {
		_, werr = fw.Write(data)
	}
	cerr := fw.Close()
	if cerr == nil || cerr.Error() != "disk full" {
		t.Fatalf("Close: %v, want disk full", cerr)
	}
	if werr == nil {
		t.Fatalf("10 frames written to a destination that failed after the first one gave no error")
	}
}
