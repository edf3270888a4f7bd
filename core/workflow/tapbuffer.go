package workflow

import (
	"io"
	"sync"
)

// tapBuffer is a bounded in-memory pipe between a pull's download (the
// writer: each blob's bytes as the copy stores them) and the unpack of
// that blob (the reader), so neither waits on the other while the buffer
// has room or bytes: the download goes on while the unpacker creates
// files, and the unpacker works through what already arrived while the
// network stalls. Unlike io.Pipe (which hands each Write to one Read and
// blocks until it is taken) it holds up to limit bytes; a Write blocks
// only while the buffer is full. Written by hand: no kept library offers a
// bounded byte pipe with a close-with-error on both ends.
//
// The contract the digest rule needs: Read returns io.EOF only after
// CloseWrite(nil) and every buffered byte read; CloseWrite(err) makes
// the next Read return err at once (buffered bytes are dropped), so an
// unpack whose blob failed its check never sees a clean end.
type tapBuffer struct {
	mu     sync.Mutex
	cond   sync.Cond
	chunks [][]byte // queued bytes, oldest first; each from tapChunks
	head   int      // bytes of chunks[0] already read
	n      int      // bytes queued
	limit  int
	werr   error // set by CloseWrite: io.EOF for a clean end
	rerr   error // set by CloseRead: what Write returns
}

// tapChunk is the size of the buffers a tapBuffer queues bytes in.
const tapChunk = 256 << 10

var tapChunks = sync.Pool{New: func() any { b := make([]byte, 0, tapChunk); return &b }}

func newTapBuffer(limit int) *tapBuffer {
	b := &tapBuffer{limit: max(limit, tapChunk)}
	b.cond.L = &b.mu
	return b
}

// Write queues a copy of p, waiting while the buffer is full; after
// CloseRead it returns the reader's error.
func (b *tapBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	written := 0
	for len(p) > 0 {
		for b.rerr == nil && b.n >= b.limit {
			b.cond.Wait()
		}
		if b.rerr != nil {
			return written, b.rerr
		}
		if b.werr != nil {
			return written, io.ErrClosedPipe
		}
		var last *[]byte
		if k := len(b.chunks); k > 0 && cap(b.chunks[k-1])-len(b.chunks[k-1]) > 0 {
			c := b.chunks[k-1]
			last = &c
		} else {
			last = tapChunks.Get().(*[]byte)
			*last = (*last)[:0]
			b.chunks = append(b.chunks, *last)
		}
		m := min(len(p), cap(*last)-len(*last), b.limit-b.n)
		*last = append(*last, p[:m]...)
		b.chunks[len(b.chunks)-1] = *last
		b.n += m
		written += m
		p = p[m:]
		b.cond.Broadcast()
	}
	return written, nil
}

// Read takes queued bytes, waiting while there are none and the writer
// has not closed.
func (b *tapBuffer) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.n == 0 && b.werr == nil && b.rerr == nil {
		b.cond.Wait()
	}
	switch {
	case b.rerr != nil:
		return 0, b.rerr
	case b.werr != nil && b.werr != io.EOF:
		return 0, b.werr
	case b.n == 0:
		return 0, io.EOF
	}
	got := 0
	for got < len(p) && len(b.chunks) > 0 {
		c := b.chunks[0]
		m := copy(p[got:], c[b.head:])
		got += m
		b.head += m
		if b.head == len(c) && (len(b.chunks) > 1 || len(c) == cap(c)) {
			b.recycle()
		} else if b.head == len(c) {
			break // the last chunk, still filling: keep it
		}
	}
	b.n -= got
	b.cond.Broadcast()
	return got, nil
}

// recycle drops the first chunk, fully read.
func (b *tapBuffer) recycle() {
	c := b.chunks[0][:0]
	b.chunks[0] = nil
	b.chunks = b.chunks[1:]
	b.head = 0
	tapChunks.Put(&c)
}

// CloseWrite ends the stream: err nil is a clean end (EOF once read),
// anything else fails the reader's next Read.
func (b *tapBuffer) CloseWrite(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.werr != nil {
		return
	}
	if err == nil {
		err = io.EOF
	}
	b.werr = err
	b.cond.Broadcast()
}

// CloseRead says the reader is gone: queued bytes are dropped and every
// Write from now on returns err.
func (b *tapBuffer) CloseRead(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rerr != nil {
		return
	}
	b.rerr = err
	for len(b.chunks) > 0 {
		b.recycle()
	}
	b.n = 0
	b.cond.Broadcast()
}
