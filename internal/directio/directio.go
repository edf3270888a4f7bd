// Package directio owns writing a large file around the page cache: the
// bytes go from an aligned buffer straight to the disk (O_DIRECT), so a
// blob or an unpacked shared object written once and not read back soon
// neither fills memory with dirty pages nor pays for each new page of it
// (on a virtual machine whose memory the host hands out page by page, a
// buffered write of 500 MB costs seconds; O_DIRECT costs the disk's
// time). On a filesystem that is not a local disk one (NFS, FUSE,
// overlayfs, tmpfs: a direct write there may be a synchronous round trip),
// where O_DIRECT is refused, and on another OS, the Writer writes through
// the page cache, as os.File does.
//
// Written by hand: no kept library does aligned O_DIRECT writes of a
// stream whose length is not a multiple of the block size (ncw/directio
// only opens and aligns; the unaligned tail, the switch back and the
// fallback are this package's).
package directio

import (
	"io"
	"os"
	"sync"
	"unsafe"
)

// Align is the alignment O_DIRECT needs of offsets, lengths and buffer
// addresses: 4 KiB serves every block device Linux has (512-byte ones
// too).
const Align = 4096

// BufSize is the bytes a Writer gathers before one direct write.
const BufSize = 1 << 20

// MinSize is the smallest file worth writing directly: below it the page
// cache's copy is cheaper than a disk round trip.
const MinSize = 1 << 20

// Writer writes a stream to f from offset off on, directly where it can.
// Full buffers are written by a goroutine of its own while the next one
// fills (up to Queue of them wait), so the caller does not wait on the
// disk unless it outruns it. It is not safe for concurrent use. Flush
// must follow the last Write: bytes wait in its buffers until then, and
// a failed write is reported by a later Write or by Flush.
type Writer struct {
	f   *os.File
	off int64  // file offset of buf[0]
	buf []byte // aligned, len BufSize (nil until a Write needs it); buf[:n] waits
	n   int

	jobs chan job      // to the goroutine that writes; nil while none runs
	done chan struct{} // closed when it has written all it was given
	mu   sync.Mutex
	err  error // the goroutine's first error

	// Owned by whoever writes (the goroutine while it runs).
	direct bool // f has O_DIRECT set
	failed bool // direct writes are refused here: write through the cache
	// DirectBytes counts the bytes written around the cache (read it
	// after Flush).
	DirectBytes int64
}

// Queue is how many full buffers may wait for the disk per Writer.
const Queue = 2

type job struct {
	buf []byte
	n   int
	off int64
}

// NewWriter writes f's bytes from off on (f's offset does not matter: the
// Writer writes at explicit offsets).
func NewWriter(f *os.File, off int64) *Writer {
	return &Writer{f: f, off: off}
}

// ForSize is NewWriter for a write of size bytes that is worth writing
// directly (MinSize or more), and nil for a smaller one, which the caller
// writes to f itself. Flush of a nil Writer does nothing.
func ForSize(f *os.File, off, size int64) *Writer {
	if size < MinSize {
		return nil
	}
	return NewWriter(f, off)
}

var bufs = sync.Pool{New: func() any { b := alignedBuf(BufSize); return &b }}

func alignedBuf(n int) []byte {
	b := make([]byte, n+Align)
	skip := int(uintptr(unsafe.Pointer(&b[0])) & (Align - 1))
	if skip != 0 {
		skip = Align - skip
	}
	return b[skip : skip+n : skip+n]
}

func (w *Writer) firstErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Write gathers p, handing each full buffer to the writing goroutine.
func (w *Writer) Write(p []byte) (int, error) {
	if err := w.firstErr(); err != nil {
		return 0, err
	}
	written := 0
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = *bufs.Get().(*[]byte)
		}
		// The first buffer ends at an aligned offset, so every later one
		// starts at one.
		room := len(w.buf) - w.n
		if head := int(w.off % Align); head != 0 {
			room = Align - head - w.n
		}
		m := copy(w.buf[w.n:w.n+min(room, len(p))], p)
		w.n += m
		written += m
		p = p[m:]
		if m == room {
			w.handOff()
		}
	}
	return written, nil
}

// handOff gives buf[:n] to the writing goroutine (started on first use).
func (w *Writer) handOff() {
	if w.n == 0 {
		return
	}
	if w.jobs == nil {
		w.jobs, w.done = make(chan job, Queue), make(chan struct{})
		go w.run(w.jobs, w.done)
	}
	w.jobs <- job{buf: w.buf, n: w.n, off: w.off}
	w.off += int64(w.n)
	w.buf, w.n = nil, 0
}

func (w *Writer) run(jobs <-chan job, done chan<- struct{}) {
	defer close(done)
	var err error
	for j := range jobs {
		if err == nil {
			if err = w.writeAt(j.buf[:j.n], j.off); err != nil {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
			}
		}
		b := j.buf
		bufs.Put(&b)
	}
	if w.direct {
		if err := setDirect(w.f, false); err != nil {
			w.mu.Lock()
			if w.err == nil {
				w.err = err
			}
			w.mu.Unlock()
		}
		w.direct = false
	}
}

// writeAt writes b at off: directly when off and len(b) are aligned.
func (w *Writer) writeAt(b []byte, off int64) error {
	aligned := off%Align == 0 && len(b)%Align == 0
	if aligned && !w.failed && !w.direct {
		w.direct = setDirect(w.f, true) == nil
		w.failed = !w.direct
	}
	if !aligned && w.direct {
		if err := setDirect(w.f, false); err != nil {
			return err
		}
		w.direct = false
	}
	_, err := w.f.WriteAt(b, off)
	if err != nil && w.direct && isInvalid(err) {
		// Set, but refused at the write (some filesystems): through the
		// cache from now on.
		w.failed = true
		if err = setDirect(w.f, false); err == nil {
			w.direct = false
			_, err = w.f.WriteAt(b, off)
		}
	}
	if err == nil && w.direct {
		w.DirectBytes += int64(len(b))
	}
	return err
}

// Flush writes what waits (its unaligned tail through the cache), waits
// for every write, and leaves f without O_DIRECT and at the end of what
// was written. The Writer may be written to again after it. Call it
// after a failed write too: it stops the Writer's goroutine.
func (w *Writer) Flush() error {
	if w == nil {
		return nil
	}
	if w.n > 0 {
		// The aligned part directly, the rest through the cache.
		if tail := w.n % Align; tail != 0 && w.off%Align == 0 && w.n > tail {
			rest := append([]byte(nil), w.buf[w.n-tail:w.n]...)
			w.n -= tail
			w.handOff()
			w.buf = *bufs.Get().(*[]byte)
			w.n = copy(w.buf, rest)
		}
		w.handOff()
	}
	if w.buf != nil {
		b := w.buf
		bufs.Put(&b)
		w.buf = nil
	}
	if w.jobs != nil {
		close(w.jobs)
		<-w.done
		w.jobs, w.done = nil, nil
	}
	if err := w.firstErr(); err != nil {
		return err
	}
	_, err := w.f.Seek(w.off, io.SeekStart)
	return err
}

// Offset is the file offset the next byte goes to.
func (w *Writer) Offset() int64 { return w.off + int64(w.n) }
