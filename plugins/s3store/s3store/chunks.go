package s3store

import (
	"errors"
	"io"
)

// chunks is a value read into memory as a list of buffers, 64 KiB first,
// each twice the one before up to 1 MiB: unlike one slice grown by
// doubling, reading a value copies each byte once and allocates only about
// what it holds (a 64 MiB value read into a doubling slice allocated and
// cleared 128 MiB and copied 64 MiB more, a tenth of the plugin's CPU in a
// Put, measured here). Written by hand: bytes.Buffer and bytes.Reader need
// one contiguous slice.
type chunks struct {
	bufs [][]byte
	size int64
}

const (
	firstChunk = 64 << 10
	maxChunk   = 1 << 20
)

// readChunks reads r until it ends (io.EOF, with what was read) or max
// bytes were read (nil error).
func readChunks(r io.Reader, max int64) (*chunks, error) {
	c := &chunks{}
	for {
		var last []byte
		if n := len(c.bufs); n > 0 {
			last = c.bufs[n-1]
		}
		if len(last) == cap(last) {
			if c.size == max {
				return c, nil
			}
			next := int64(firstChunk)
			if last != nil {
				next = min(2*int64(cap(last)), maxChunk)
			}
			last = make([]byte, 0, min(next, max-c.size))
			c.bufs = append(c.bufs, last)
		}
		n, err := r.Read(last[len(last):cap(last)])
		c.bufs[len(c.bufs)-1] = last[:len(last)+n]
		c.size += int64(n)
		if err != nil {
			return c, err
		}
	}
}

// reader reads the value from its start (a fresh one per request: the SDK
// seeks it to rewind for a retry).
func (c *chunks) reader() *chunksReader { return &chunksReader{c: c} }

// chunksReader is an io.ReadSeeker over chunks.
type chunksReader struct {
	c   *chunks
	off int64
	// bi, bo: the buffer holding off and off's place in it
	bi int
	bo int
}

func (r *chunksReader) Read(p []byte) (int, error) {
	for r.bi < len(r.c.bufs) && r.bo == len(r.c.bufs[r.bi]) {
		r.bi, r.bo = r.bi+1, 0
	}
	if r.bi >= len(r.c.bufs) {
		return 0, io.EOF
	}
	n := copy(p, r.c.bufs[r.bi][r.bo:])
	r.bo += n
	r.off += int64(n)
	return n, nil
}

func (r *chunksReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.c.size
	}
	if offset < 0 {
		return 0, errors.New("s3 store: seek before the start")
	}
	r.off, r.bi, r.bo = offset, 0, 0
	for left := min(offset, r.c.size); left > 0; r.bi++ {
		if b := int64(len(r.c.bufs[r.bi])); left < b {
			r.bo = int(left)
			break
		} else {
			left -= b
		}
	}
	return offset, nil
}
