package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
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
			if i%9 == 0 {
				data = make([]byte, FrameSize+rng.IntN(2*FrameSize)) // a raw frame or two
			}
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
	// The format: FrameSize pieces, each compressed (or stored raw) on
	// its own.
	one, err := newEncoderWith(1)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	raw := 0
	for p := in; len(p) > 0; {
		n := min(len(p), FrameSize)
		if looksRandom(p[:n]) {
			raw++
		}
		want = appendFrame(one, want, p[:n])
		p = p[n:]
	}
	if raw == 0 || raw == (len(in)+FrameSize-1)/FrameSize {
		t.Fatalf("%d of the stream's frames are raw: the test must mix raw and compressed frames", raw)
	}
	for round, maxPiece := range []int{1 << 10, 2 << 20, 9 << 20} {
		var out bytes.Buffer
		sum := sha256.New()
		fw, err := newFrameWriter(&out, sum)
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
		if got := sha256.Sum256(want); !bytes.Equal(sum.Sum(nil), got[:]) || fw.written() != int64(len(want)) {
			t.Fatalf("round %d: the hash or the count (%d) of the frames written is not theirs (%d bytes)", round, fw.written(), len(want))
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
	fw, err := newFrameWriter(&failWriter{n: 100}, sha256.New())
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

// randomBytes returns n bytes of ChaCha8 output.
func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(b)
	return b
}

// TestRawFrames checks the frames stored raw: random bytes of any frame
// length are, and their frame is byte for byte what the encoder writes for
// them (so its header and checksum are the encoder's); it decodes with our
// reader and with the zstd command. Text, zeros, native code, and random
// bytes with a little text where a sample falls are compressed.
func TestRawFrames(t *testing.T) {
	enc, err := newEncoderWith(1)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	for _, n := range []int{sampleStride, 65536 + 255, 65536 + 256, 300 << 10, FrameSize - 1, FrameSize} {
		src := randomBytes(n, uint64(n))
		if !looksRandom(src) {
			t.Fatalf("%d random bytes: not taken for random", n)
		}
		got := bytes.Join(rawFrame(src), nil)
		if want := enc.EncodeAll(src, nil); !bytes.Equal(got, want) {
			t.Fatalf("%d random bytes: raw frame of %d bytes differs from the encoder's %d bytes", n, len(got), len(want))
		}
		back, err := dec.DecodeAll(got, nil)
		if err != nil || !bytes.Equal(back, src) {
			t.Fatalf("%d random bytes: raw frame decodes to %d bytes, %v", n, len(back), err)
		}
	}

	// The zstd command reads a stream of raw and compressed frames.
	if zstdCmd, err := exec.LookPath("zstd"); err != nil {
		t.Logf("no zstd command on PATH: the zstd -d check is skipped")
	} else {
		src := append(randomBytes(FrameSize, 1), bytes.Repeat([]byte("import os\n"), FrameSize/10)...)
		var stream []byte
		for p := src; len(p) > 0; p = p[min(len(p), FrameSize):] {
			stream = appendFrame(enc, stream, p[:min(len(p), FrameSize)])
		}
		if len(stream) < FrameSize || len(stream) > FrameSize+FrameSize/10 {
			t.Fatalf("a raw and a text frame: %d bytes", len(stream))
		}
		cmd := exec.Command(zstdCmd, "-d", "-c")
		cmd.Stdin = bytes.NewReader(stream)
		out, err := cmd.Output()
		if err != nil || !bytes.Equal(out, src) {
			t.Fatalf("zstd -d: %d bytes, %v", len(out), err)
		}
	}

	var text bytes.Buffer
	for text.Len() < FrameSize {
		fmt.Fprintf(&text, "def f_%d(x):\n    return x * %d  # %x\n", text.Len()%9000, text.Len()%100, text.Len())
	}
	self, err := os.ReadFile(os.Args[0]) // this test binary: native code
	if err != nil {
		t.Fatal(err)
	}
	mixed := randomBytes(FrameSize, 2)
	copy(mixed[5*sampleStride:], text.Bytes()[:samplePiece])
	for name, src := range map[string][]byte{
		"text":                     text.Bytes()[:FrameSize],
		"zeros":                    make([]byte, FrameSize),
		"native code":              self[:min(len(self), FrameSize)],
		"random with 4 KiB text":   mixed,
		"random, shorter than 64K": randomBytes(sampleStride-1, 3),
	} {
		if looksRandom(src) {
			t.Errorf("%s (%d bytes): taken for random", name, len(src))
		}
	}
}

// appendFrame appends to dst the frame encodeFrame gives for src.
func appendFrame(enc *zstd.Encoder, dst, src []byte) []byte {
	var out []byte
	pieces, _ := encodeFrame(enc, src, &out)
	for _, p := range pieces {
		dst = append(dst, p...)
	}
	return dst
}
