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

import (
	"io"
	"runtime"
	"sync"

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
// once compressed), its compressed bytes out once done is closed.
type frame struct {
	in, out *[]byte
	done    chan struct{}
}

// frameWriter takes a layer's tar stream (Write), cuts it into frames,
// compresses them in parallel and writes them, in order, to w. Close
// compresses what is left and waits until everything is written; after an
// error from w, Write and Close return it. A frameWriter is for one
// goroutine.
type frameWriter struct {
	enc  *zstd.Encoder
	cur  *[]byte
	q    chan *frame // frames in order, to the writing goroutine
	done chan struct{}
	mu   sync.Mutex
	werr error
}

func newFrameWriter(w io.Writer) (*frameWriter, error) {
	enc, err := frameEncoder()
	if err != nil {
		return nil, err
	}
	fw := &frameWriter{enc: enc, q: make(chan *frame, framesAhead()), done: make(chan struct{})}
	go fw.writeFrames(w)
	return fw, nil
}

// writeFrames writes the frames to w as they are done, in order; after an
// error it only waits for the rest and recycles them.
func (fw *frameWriter) writeFrames(w io.Writer) {
	defer close(fw.done)
	for f := range fw.q {
		<-f.done
		if fw.failed() == nil {
			if _, err := w.Write(*f.out); err != nil {
				fw.mu.Lock()
				fw.werr = err
				fw.mu.Unlock()
			}
		}
		framePool.Put(f.out)
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
		*f.out = fw.enc.EncodeAll(*f.in, (*f.out)[:0])
		framePool.Put(f.in)
		close(f.done)
	}()
	fw.q <- f // blocks while framesAhead frames wait to be written
}

// Close compresses the last frame and waits for every frame to be written.
// It must be called once, also after an error (to stop the writing
// goroutine).
func (fw *frameWriter) Close() error {
	if fw.cur != nil && len(*fw.cur) > 0 {
		fw.flush()
	}
	close(fw.q)
	<-fw.done
	return fw.werr
}
