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

// frame is one frame of a layer: its tar bytes in (given back to the pool
// once compressed), its compressed bytes out once done is closed (given
// back once both written and hashed: users counts down).
type frame struct {
	in, out *[]byte
	done    chan struct{}
	users   atomic.Int32
}

// release gives out back to the pool after its last user.
func (f *frame) release() {
	if f.users.Add(-1) == 0 {
		framePool.Put(f.out)
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
			framePool.Put(f.out)
			continue
		}
		f.users.Store(2)
		fw.hq <- f
		n, err := w.Write(*f.out)
		fw.n += int64(n)
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
		h.Write(*f.out)
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
		if fw.cur == nil {
			fw.cur = framePool.Get().(*[]byte)
			*fw.cur = (*fw.cur)[:0]
		}
		k := min(len(p), FrameSize-len(*fw.cur))
		*fw.cur = append(*fw.cur, p[:k]...)
		n, p = n+k, p[k:]
		if len(*fw.cur) == FrameSize {
			fw.flush()
		}
	}
	return n, nil
}

// flush starts compressing the current frame, then queues it for writing.
// Compressing starts before the queue is asked for room: when the writer
// is busy writing the oldest frame, the frames behind it keep the CPUs busy
// (the shared encoder bounds how many compress at once), instead of one
// waiting for the queue while a CPU idles.
func (fw *frameWriter) flush() {
	f := &frame{in: fw.cur, out: framePool.Get().(*[]byte), done: make(chan struct{})}
	fw.cur = nil
	go func() {
		*f.out = encodeFrame(fw.enc, *f.in, (*f.out)[:0])
		framePool.Put(f.in)
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

// encodeFrame appends to dst the zstd frame of src, one FrameSize piece of
// a layer's tar stream (or its last, shorter piece): src in raw blocks when
// looksRandom says so, else compressed by enc. It is the layer format's
// definition of a frame (LayerFormat).
func encodeFrame(enc *zstd.Encoder, src, dst []byte) []byte {
	if looksRandom(src) {
		return appendRawFrame(dst, src)
	}
	return enc.EncodeAll(src, dst)
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

// appendRawFrame appends to dst a zstd frame (RFC 8878 §3.1.1) holding src
// in raw blocks, with the header fields the encoder writes for a frame of
// that size (single segment, content size, content checksum), so that for
// random bytes it is the frame EncodeAll would give, without the search for
// matches. src must be at least sampleStride bytes (a 2- or 4-byte content
// size) and below 4 GiB. Written by hand: klauspost/compress has no way to
// ask for raw blocks.
func appendRawFrame(dst, src []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, 0xFD2FB528) // magic number
	const single, checksum = 1 << 5, 1 << 2
	if n := uint64(len(src)); n < 65536+256 {
		dst = append(dst, 1<<6|single|checksum)
		dst = binary.LittleEndian.AppendUint16(dst, uint16(n-256))
	} else {
		dst = append(dst, 2<<6|single|checksum)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	}
	for p := src; len(p) > 0; {
		n := min(len(p), rawBlockMax)
		h := uint32(n) << 3 // block type 0: raw
		if n == len(p) {
			h |= 1 // last block
		}
		dst = append(dst, byte(h), byte(h>>8), byte(h>>16))
		dst = append(dst, p[:n]...)
		p = p[n:]
	}
	// The low 32 bits of the XXH64 of the content, little-endian.
	return binary.LittleEndian.AppendUint32(dst, uint32(xxhash.Sum64(src)))
}
