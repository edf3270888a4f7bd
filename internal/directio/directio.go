// Package directio owns writing a large file around the page cache: the
// bytes go from an aligned buffer straight to the disk (O_DIRECT), so a
// blob or an unpacked shared object written once and not read back soon
// neither fills memory with dirty pages nor pays for each new page of it
// (on a virtual machine whose memory the host hands out page by page, a
// buffered write of 500 MB costs seconds; O_DIRECT costs the disk's
// time). Where O_DIRECT is refused (tmpfs, some FUSE and network
// filesystems, another OS) the Writer writes through the page cache, as
// os.File does.
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
// It is not safe for concurrent use. Flush must follow the last Write:
// bytes wait in its buffer until then (the buffer, from a pool, goes back
// to it at Flush).
type Writer struct {
	f      *os.File
	off    int64  // file offset of buf[0]
	buf    []byte // aligned, len BufSize (nil until the first Write); buf[:n] waits
	n      int
	direct bool // f has O_DIRECT set
	failed bool // direct writes are refused here: write through the cache
	// DirectBytes counts the bytes written around the cache.
	DirectBytes int64
}

// NewWriter writes f's bytes from off on (f's offset does not matter: the
// Writer writes at explicit offsets).
func NewWriter(f *os.File, off int64) *Writer {
	return &Writer{f: f, off: off}
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

// Write gathers p, writing each full buffer.
func (w *Writer) Write(p []byte) (int, error) {
	if w.buf == nil && len(p) > 0 {
		w.buf = *bufs.Get().(*[]byte)
	}
	written := 0
	for len(p) > 0 {
		// The first buffer ends at an aligned offset, so every later one
		// starts at one.
		room := len(w.buf) - w.n
		if head := int(w.off % Align); head != 0 && w.n < Align-head {
			room = Align - head - w.n
		}
		m := copy(w.buf[w.n:w.n+min(room, len(p))], p)
		w.n += m
		written += m
		p = p[m:]
		if w.n == len(w.buf) || (w.off%Align != 0 && (w.off+int64(w.n))%Align == 0) {
			if err := w.writeBuf(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// writeBuf writes buf[:n] at off: directly when off and n are aligned.
func (w *Writer) writeBuf() error {
	aligned := w.off%Align == 0 && w.n%Align == 0
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
	_, err := w.f.WriteAt(w.buf[:w.n], w.off)
	if err != nil && w.direct && isInvalid(err) {
		// Set, but refused at the write (some filesystems): through the
		// cache from now on.
		w.failed = true
		if err = setDirect(w.f, false); err == nil {
			w.direct = false
			_, err = w.f.WriteAt(w.buf[:w.n], w.off)
		}
	}
	if err != nil {
		return err
	}
	if w.direct {
		w.DirectBytes += int64(w.n)
	}
	w.off += int64(w.n)
	w.n = 0
	return nil
}

// Flush writes what waits (its unaligned tail through the cache) and
// leaves f without O_DIRECT and at the end of what was written.
func (w *Writer) Flush() error {
	if w.n > 0 {
		// The aligned part directly, the rest through the cache.
		if tail := w.n % Align; tail != 0 && w.off%Align == 0 && w.n > tail {
			rest := append([]byte(nil), w.buf[w.n-tail:w.n]...)
			w.n -= tail
			if err := w.writeBuf(); err != nil {
				return err
			}
			w.n = copy(w.buf, rest)
		}
		if err := w.writeBuf(); err != nil {
			return err
		}
	}
	if w.direct {
		if err := setDirect(w.f, false); err != nil {
			return err
		}
		w.direct = false
	}
	if w.buf != nil {
		b := w.buf
		bufs.Put(&b)
		w.buf = nil
	}
	_, err := w.f.Seek(w.off, io.SeekStart)
	return err
}

// Offset is the file offset the next byte goes to.
func (w *Writer) Offset() int64 { return w.off + int64(w.n) }
