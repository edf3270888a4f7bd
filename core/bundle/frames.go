package bundle

// frames.go: a layer's tar stream compressed as a sequence of independent
// zstd frames, several at once.
//
// zstd -T0 keeps every core busy on one stream; klauspost's encoder in
// stream mode encodes one block after another (one core per layer), and its
// job mode (WithConcurrentBlocks) buffers several 32 MiB jobs per encoder
// (over 1 GB of RSS on the bench environment). So a layer is cut, at fixed
// offsets of its tar stream, into frames of FrameSize bytes; each frame is
// compressed on its own (EncodeAll: a pure function of the frame's bytes and
// the format's settings), by as many goroutines as there are CPUs for all
// layers together, and the frames are written in order. A zstd decoder reads
// concatenated frames as one stream (RFC 8878 §3.1), so readers need nothing
// new. The output depends only on the tar bytes: not on the number of CPUs,
// on scheduling or on how the tar was written. Written by hand because no
// kept library compresses one stream in parallel, deterministically, with
// bounded memory.
//
// A frame whose bytes look random (looksRandom: compressed or random data,
// such as most of a big native library's bytes in the benchmark, or any
// archive) is stored in raw blocks (appendRawFrame) instead of being run
// through the match finder, which would find nothing and cost as much CPU
// as the rest of the layer: that choice too is a pure function of the
// frame's bytes.

import (
	"encoding/binary"
	"hash"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"
)

// FrameSize is the bytes of tar stream in each zstd frame of a layer (the
// last frame may hold fewer). It is part of the layer format (LayerFormat).
const FrameSize = 4 << 20

// framesAhead is how many frames of one layer may be waiting to be written
// (besides the one being written and the one just flushed) while its tar
// stream goes on: one fewer than the CPUs, so one layer can keep them all
// busy, and a layer's memory stays about 2 * (framesAhead+3) * FrameSize
// of tar and compressed bytes at most (32 MiB on 2 CPUs). It does not
// change the output.
func framesAhead() int { return max(1, runtime.GOMAXPROCS(0)-1) }

var (
	frameEncOnce sync.Once
	frameEnc     *zstd.Encoder
	frameEncErr  error
	// framePool holds FrameSize buffers, for tar bytes and compressed frames.
	framePool = sync.Pool{New: func() any { b := make([]byte, 0, FrameSize+FrameSize/16); return &b }}
)

// frameEncoder is the one encoder every layer compresses its frames with:
// EncodeAll is safe for concurrent use, and the encoder's concurrency (the
// CPUs) bounds how many frames of all layers are compressed at once.
func frameEncoder() (*zstd.Encoder, error) {
	frameEncOnce.Do(func() { frameEnc, frameEncErr = newEncoderWith(runtime.GOMAXPROCS(0)) })
	return frameEnc, frameEncErr
}

// frame is one frame of a layer: its tar bytes in, and once done is closed
// the pieces of its zstd frame: out, its compressed bytes (in is then
// given back to the pool), or for a raw frame its headers and slices of in
// (so its bytes are not copied). buf (in or out) goes back to the pool once
// the frame is both written and hashed (users counts down).
type frame struct {
	in, out *[]byte
	pieces  [][]byte
	done    chan struct{}
	users   atomic.Int32
}

// release gives the frame's buffer back to the pool after its last user.
func (f *frame) release() {
	if f.users.Add(-1) == 0 {
		f.free()
	}
}

func (f *frame) free() {
	for _, b := range []*[]byte{f.in, f.out} {
		if b != nil {
			framePool.Put(b)
		}
	}
}

// frameWriter takes a layer's tar stream (Write), cuts it into frames,
// compresses them in parallel and writes them, in order, to w, and hashes
// them, in order, into h: the hash of a frame runs while it is written (two
// goroutines, as the sha256 of the layer and its write to the page cache
// are each as much CPU as the rest of a frame of random bytes). Close
// compresses what is left and waits until everything is written and
// hashed; after an error from w, Write and Close return it. A frameWriter
// is for one goroutine.
type frameWriter struct {
	enc    *zstd.Encoder
	cur    *[]byte
	q      chan *frame // frames in order, to the writing goroutine
	hq     chan *frame // frames in order, from the writing to the hashing goroutine
	done   chan struct{}
	hashed chan struct{}
	n      int64 // bytes written to w, once done is closed
	mu     sync.Mutex
	werr   error
}

func newFrameWriter(w io.Writer, h hash.Hash) (*frameWriter, error) {
	enc, err := frameEncoder()
	if err != nil {
		return nil, err
	}
	// hq is unbuffered: a frame is handed on once the hash of the one
	// before is done, so hashing holds no frame of its own.
	fw := &frameWriter{enc: enc, q: make(chan *frame, framesAhead()), hq: make(chan *frame),
		done: make(chan struct{}), hashed: make(chan struct{})}
	go fw.writeFrames(w)
	go fw.hashFrames(h)
	return fw, nil
}

// writeFrames writes the frames to w as they are done, in order, handing
// each to hashFrames first; after an error it only waits for the rest and
// recycles them.
func (fw *frameWriter) writeFrames(w io.Writer) {
	defer close(fw.done)
	defer close(fw.hq)
	for f := range fw.q {
		<-f.done
		if fw.failed() != nil {
			f.free()
			continue
		}
		f.users.Store(2)
		fw.hq <- f
		n, err := writePieces(w, f.pieces)
		fw.n += n
		if err != nil {
			fw.mu.Lock()
			fw.werr = err
			fw.mu.Unlock()
		}
		f.release()
	}
}

// hashFrames hashes the frames writeFrames hands on, in order.
func (fw *frameWriter) hashFrames(h hash.Hash) {
	defer close(fw.hashed)
	for f := range fw.hq {
		for _, p := range f.pieces {
			h.Write(p)
		}
		f.release()
	}
}

func (fw *frameWriter) failed() error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.werr
}

func (fw *frameWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if err := fw.failed(); err != nil {
			return n, err
		}
		tail := fw.space()
		k := min(len(p), len(tail))
		if &p[0] != &tail[0] { // else p was read into the frame (space): nothing to copy
			copy(tail, p[:k])
		}
		*fw.cur = (*fw.cur)[:len(*fw.cur)+k]
		n, p = n+k, p[k:]
		if len(*fw.cur) == FrameSize {
			fw.flush()
		}
	}
	return n, nil
}

// space is the room left in the current frame (never empty). A caller may
// read what it will Write next into its beginning, so that Write does not
// copy it.
func (fw *frameWriter) space() []byte {
	if fw.cur == nil {
		fw.cur = framePool.Get().(*[]byte)
		*fw.cur = (*fw.cur)[:0]
	}
	return (*fw.cur)[len(*fw.cur):FrameSize]
}

// flush starts compressing the current frame, then queues it for writing.
// Compressing starts before the queue is asked for room: when the writer
// is busy writing the oldest frame, the frames behind it keep the CPUs busy
// (the shared encoder bounds how many compress at once), instead of one
// waiting for the queue while a CPU idles.
func (fw *frameWriter) flush() {
	f := &frame{in: fw.cur, done: make(chan struct{})}
	fw.cur = nil
	go func() {
		out := framePool.Get().(*[]byte)
		var raw bool
		f.pieces, raw = encodeFrame(fw.enc, *f.in, out)
		if raw { // its pieces are slices of in
			framePool.Put(out)
		} else {
			framePool.Put(f.in)
			f.in, f.out = nil, out
		}
		close(f.done)
	}()
	fw.q <- f // blocks while framesAhead frames wait to be written
}

// Close compresses the last frame and waits for every frame to be written
// and hashed. It must be called once, also after an error (to stop the
// writing and hashing goroutines).
func (fw *frameWriter) Close() error {
	if fw.cur != nil && len(*fw.cur) > 0 {
		fw.flush()
	}
	close(fw.q)
	<-fw.done
	<-fw.hashed
	return fw.werr
}

// written is the bytes written to w, once Close returned.
func (fw *frameWriter) written() int64 { return fw.n }

// encodeFrame gives the zstd frame of src, one FrameSize piece of a layer's
// tar stream (or its last, shorter piece), as the pieces to write one after
// the other: src in raw blocks when looksRandom says so (rawFrame: the
// pieces are slices of src and raw is true), else src compressed by enc
// into out (the one piece). It is the layer format's definition of a frame
// (LayerFormat).
func encodeFrame(enc *zstd.Encoder, src []byte, out *[]byte) (pieces [][]byte, raw bool) {
	if looksRandom(src) {
		return rawFrame(src), true
	}
	*out = enc.EncodeAll(src, (*out)[:0])
	return [][]byte{*out}, false
}

// looksRandom samples src: the first samplePiece bytes of every sampleStride
// bytes. It says yes when every sample is spread over the 256 byte values
// about as evenly as random bytes are, which compressed and random data are
// and text, code, tar headers and native code are not. Only integers, so
// the answer is the same on every machine. Repeats of random data (the same
// archive twice in one frame) would compress and are stored raw: a loss of
// size, never of content.
//
// The measure is the collision count, the sum of the squares of the byte
// counts of a sample: n + n(n-1)/256 on average for n random bytes (69,616
// for 4 KiB, with a standard deviation of about 360); the bound is 10% above
// that, so random data is never taken for text, while text (about 4-5 bits
// of entropy a byte) and x86 code score several times higher.
func looksRandom(src []byte) bool {
	if len(src) < sampleStride {
		return false
	}
	for off := 0; off+samplePiece <= len(src); off += sampleStride {
		// Four tables, so consecutive bytes of one value do not wait on
		// each other's increment.
		var h [4][256]uint32
		p := src[off : off+samplePiece]
		for i := 0; i < len(p); i += 4 {
			h[0][p[i]]++
			h[1][p[i+1]]++
			h[2][p[i+2]]++
			h[3][p[i+3]]++
		}
		var sum uint64
		for b := range 256 {
			c := uint64(h[0][b] + h[1][b] + h[2][b] + h[3][b])
			sum += c * c
		}
		if sum > maxCollisions {
			return false
		}
	}
	return true
}

const (
	samplePiece   = 4 << 10  // bytes in one sample of looksRandom
	sampleStride  = 64 << 10 // one sample for every sampleStride bytes
	maxCollisions = (samplePiece + samplePiece*(samplePiece-1)/256) * 11 / 10
	// rawBlockMax is the largest zstd block (RFC 8878 §3.1.1.2.4).
	rawBlockMax = 128 << 10
)

// rawFrame returns, in order, the pieces of a zstd frame (RFC 8878 §3.1.1)
// holding src in raw blocks: its headers, in a small buffer of their own,
// and slices of src. The header fields are those the encoder writes for a
// frame of that size (single segment, content size, content checksum), so
// that for random bytes it is the frame EncodeAll would give, without the
// search for matches. src must be at least sampleStride bytes (a 2- or
// 4-byte content size) and below 4 GiB. Written by hand: klauspost/compress
// has no way to ask for raw blocks.
func rawFrame(src []byte) [][]byte {
	blocks := (len(src) + rawBlockMax - 1) / rawBlockMax
	hdr := make([]byte, 0, 9+3*blocks+4) // filled below without growing: pieces point into it
	pieces := make([][]byte, 0, 2*blocks+1)
	hdr = binary.LittleEndian.AppendUint32(hdr, 0xFD2FB528) // magic number
	const single, checksum = 1 << 5, 1 << 2
	if n := uint64(len(src)); n < 65536+256 {
		hdr = append(hdr, 1<<6|single|checksum)
		hdr = binary.LittleEndian.AppendUint16(hdr, uint16(n-256))
	} else {
		hdr = append(hdr, 2<<6|single|checksum)
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(n))
	}
	start := 0 // of the headers not yet in a piece
	for p := src; len(p) > 0; {
		n := min(len(p), rawBlockMax)
		h := uint32(n) << 3 // block type 0: raw
		if n == len(p) {
			h |= 1 // last block
		}
		hdr = append(hdr, byte(h), byte(h>>8), byte(h>>16))
		pieces = append(pieces, hdr[start:len(hdr)], p[:n])
		start = len(hdr)
		p = p[n:]
	}
	// The low 32 bits of the XXH64 of the content, little-endian.
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(xxhash.Sum64(src)))
	return append(pieces, hdr[start:])
}

// writePieces writes pieces to w, in order: with writev(2) when w is a
// file, so a raw frame is one system call.
func writePieces(w io.Writer, pieces [][]byte) (int64, error) {
	if f, ok := w.(*os.File); ok {
		return writev(f, pieces)
	}
	return writeEach(w, pieces)
}

// writeEach writes pieces to w with one Write each.
func writeEach(w io.Writer, pieces [][]byte) (int64, error) {
	var n int64
	for _, p := range pieces {
		k, err := w.Write(p)
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
