package bundle

// extract_writers.go: the goroutines that create and write the regular
// files of a layer for ExtractLayer.
//
// On ext4 a file's create costs far more than its bytes (the kernel scans
// inode bitmaps to allocate the inode), and it holds the parent folder's
// inode lock: creates in one folder serialize, creates in different
// folders run in parallel. So ExtractLayer's reader (one goroutine, the
// only place entries are parsed and checked and folders are made) hands
// each regular file, with its bytes, to one of a few writers, sharded by
// parent folder: the first file of a folder goes to the writer with the
// least pending work, and every later file of that folder to the same
// writer. A file of up to one chunk travels in one pooled buffer sized to
// it; a larger one is streamed to its writer chunk by chunk. The bytes on
// their way (buffers handed over and not yet written) are bounded by a
// budget, so memory stays bounded whatever the layer. The first error
// stops the reader and every writer; close waits for all of them, so no
// write happens after ExtractLayer returns. Written by hand: no kept
// library shards file creation by folder.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/sync/semaphore"
	"golang.org/x/sys/unix"

	"github.com/swcli/swcli/internal/directio"
)

const (
	// writeChunk is the most bytes of a file handed to a writer at once:
	// a file up to this size travels whole, a larger one in chunks.
	writeChunk = 1 << maxBufShift
	// writeBudget bounds the bytes of one extraction on their way to its
	// writers.
	writeBudget = 16 << 20
	// writeQueue is how many files may wait for one writer.
	writeQueue = 1024
	// minBufShift and maxBufShift: the pooled buffers are of 4 KiB to
	// writeChunk bytes.
	minBufShift = 12
	maxBufShift = 20
)

// writers is how many writer goroutines one extraction uses: as many as
// the CPUs, at least 2 (creates in two folders overlap even on one CPU,
// the kernel's locks being per folder) and at most 4.
func writers() int { return min(max(runtime.GOMAXPROCS(0), 2), 4) }

// chunkPools hold buffers of 4 KiB, 8 KiB ... writeChunk (one pool per
// power of two), so a small file's bytes take a buffer near its size.
var chunkPools [maxBufShift - minBufShift + 1]sync.Pool

// getChunk returns a pooled buffer of length n (n <= writeChunk).
func getChunk(n int) *[]byte {
	c := 0
	if n > 1<<minBufShift {
		c = bits.Len(uint(n-1)) - minBufShift
	}
	if b, ok := chunkPools[c].Get().(*[]byte); ok {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, 1<<(c+minBufShift))
	return &b
}

// putChunk gives b back to its pool.
func putChunk(b *[]byte) {
	c := bits.Len(uint(cap(*b))) - 1 - minBufShift
	if c >= 0 && c < len(chunkPools) && cap(*b) == 1<<(c+minBufShift) {
		chunkPools[c].Put(b)
	}
}

// fileJob is one regular file for a writer: where it goes, and its bytes
// (data for a file of up to writeChunk bytes, else its chunks on more,
// closed after the last one or when the reader stops).
type fileJob struct {
	raw, name   string // its tar name (for errors), its slash path in dest
	dir, base   string
	mode        fs.FileMode // as the layer means it (0644 or 0755)
	size        int64
	data        *[]byte
	more        chan *[]byte
	weight      int64 // how much pending work it counts for (see pick)
	reservation int64 // budget held by data
}

// fileWriter is one writer goroutine: its queue, its pending work (read
// by the reader to pick a writer for a new folder) and its folder handle.
type fileWriter struct {
	q       chan *fileJob
	pending atomic.Int64
	dirs    dirRoots
}

// writerPool is the writers of one extraction.
type writerPool struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	chmod  fs.FileMode
	// readOnly: files are made without their write bits (ExtractOptions).
	readOnly bool
	sums     func(name string, s FileSum)
	budget   *semaphore.Weighted
	ws       []*fileWriter
	byDir    map[string]*fileWriter // the reader's: which writer has a folder
	wg       sync.WaitGroup

	files atomic.Int64
	bytes atomic.Int64
}

func newWriterPool(ctx context.Context, root *os.Root, chmod fs.FileMode, opts ExtractOptions) *writerPool {
	p := &writerPool{chmod: chmod, sums: opts.Sums, readOnly: opts.ReadOnly, budget: semaphore.NewWeighted(writeBudget), byDir: map[string]*fileWriter{}}
	p.ctx, p.cancel = context.WithCancelCause(ctx)
	for range writers() {
		w := &fileWriter{q: make(chan *fileJob, writeQueue), dirs: dirRoots{root: root}}
		p.ws = append(p.ws, w)
		p.wg.Go(func() { p.run(w) })
	}
	return p
}

// fail stops the extraction with err (the first one counts).
func (p *writerPool) fail(err error) { p.cancel(err) }

// err is the error that stopped the extraction, if any.
func (p *writerPool) err() error {
	if p.ctx.Err() == nil {
		return nil
	}
	return context.Cause(p.ctx)
}

// close waits for the writers to finish what they were given and returns
// the error of the extraction: readErr, the reader's (which stops the
// writers first), or else the first of the writers'. Nothing is written
// after it returns.
func (p *writerPool) close(readErr error) error {
	if readErr != nil {
		p.fail(readErr)
	}
	for _, w := range p.ws {
		close(w.q)
	}
	p.wg.Wait()
	err := p.err()
	p.cancel(nil)
	if readErr != nil {
		return readErr
	}
	return err
}

// pick returns the writer of folder dir: the one it already has, or the
// least busy one.
func (p *writerPool) pick(dir string) *fileWriter {
	if w, ok := p.byDir[dir]; ok {
		return w
	}
	w := p.ws[0]
	for _, o := range p.ws[1:] {
		if o.pending.Load() < w.pending.Load() {
			w = o
		}
	}
	p.byDir[dir] = w
	return w
}

// write reads the current entry's size bytes from r and hands the file to
// its folder's writer; the folder exists (the reader made or checked it).
func (p *writerPool) write(r io.Reader, raw, name, dir, base string, mode fs.FileMode, size int64) error {
	if err := p.err(); err != nil {
		return err
	}
	j := &fileJob{raw: raw, name: name, dir: dir, base: base, mode: mode, size: size, weight: 1 + size/(256<<10)}
	w := p.pick(dir)
	if size <= writeChunk {
		if size > 0 {
			b, n, err := p.chunk(r, int(size))
			if err != nil {
				return err
			}
			j.data, j.reservation = b, n
		}
		return p.send(w, j)
	}
	j.more = make(chan *[]byte, 4)
	if err := p.send(w, j); err != nil {
		return err
	}
	defer close(j.more)
	for left := size; left > 0; {
		b, _, err := p.chunk(r, int(min(left, writeChunk)))
		if err != nil {
			// Stopped before the writer sees the file end early, so the
			// extraction fails with this error, not with a short file.
			p.fail(err)
			return err
		}
		select {
		case j.more <- b:
		case <-p.ctx.Done():
			return p.err()
		}
		left -= int64(len(*b))
	}
	return nil
}

// chunk reads n bytes of r into a pooled buffer, taking its room from the
// budget first; it returns the buffer and the room it took.
func (p *writerPool) chunk(r io.Reader, n int) (*[]byte, int64, error) {
	b := getChunk(n)
	room := int64(cap(*b))
	if err := p.budget.Acquire(p.ctx, room); err != nil {
		putChunk(b)
		return nil, 0, p.err()
	}
	if _, err := io.ReadFull(r, *b); err != nil {
		p.budget.Release(room)
		putChunk(b)
		return nil, 0, err
	}
	return b, room, nil
}

func (p *writerPool) send(w *fileWriter, j *fileJob) error {
	w.pending.Add(j.weight)
	select {
	case w.q <- j:
		return nil
	case <-p.ctx.Done():
		p.drop(j)
		return p.err()
	}
}

// drop gives back what j holds and has not been written.
func (p *writerPool) drop(j *fileJob) {
	if j.data != nil {
		p.release(j.data)
		j.data = nil
	}
}

func (p *writerPool) release(b *[]byte) {
	p.budget.Release(int64(cap(*b)))
	putChunk(b)
}

// run is a writer: it writes its queue's files until the queue closes;
// after an error it only gives back what the queue holds.
func (p *writerPool) run(w *fileWriter) {
	defer w.dirs.close()
	for j := range w.q {
		if p.err() == nil {
			if err := p.writeJob(w, j); err != nil {
				p.fail(err)
			}
		}
		p.drop(j)
		if j.more != nil {
			for b := range j.more {
				p.release(b)
			}
		}
		w.pending.Add(-j.weight)
	}
}

func (p *writerPool) writeJob(w *fileWriter, j *fileJob) error {
	r, err := w.dirs.get(j.dir)
	if err != nil {
		return err
	}
	return createIn(r, j.raw, j.base, func(r *os.Root) error { return p.writeFile(r, j) })
}

// errShortFile says the reader stopped before a streamed file's end.
var errShortFile = errors.New("file ends early")

// writeFile creates j's file in r (it must not exist), writes its bytes,
// gives it its mode and tells Sums.
func (p *writerPool) writeFile(r *os.Root, j *fileJob) error {
	mode := j.mode
	if p.readOnly {
		mode &^= 0o222
	}
	f, err := r.OpenFile(j.base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	var h *xxhash.Digest
	if p.sums != nil {
		h = xxhash.New()
	}
	// A large file (a shared object) is written around the page cache:
	// its bytes are not read again soon, and their new pages are what a
	// write of them costs most (see internal/directio).
	var to io.Writer = f
	dw := directio.ForSize(f, 0, j.size)
	if dw != nil {
		to = dw
	}
	put := func(b []byte) error {
		if _, err := to.Write(b); err != nil {
			return err
		}
		if h != nil {
			h.Write(b)
		}
		return nil
	}
	var written int64
	if j.data != nil {
		err = put(*j.data)
		written = int64(len(*j.data))
		p.drop(j)
	}
	for j.more != nil && err == nil {
		b, ok := <-j.more
		if !ok {
			break
		}
		err = put(*b)
		written += int64(len(*b))
		p.release(b)
		if err == nil {
			err = p.err()
		}
	}
	if err == nil && written != j.size {
		err = p.err()
		if err == nil {
			err = fmt.Errorf("%s: %w", j.raw, errShortFile)
		}
	}
	if ferr := dw.Flush(); err == nil {
		err = ferr
	}
	if err == nil && p.chmod&mode != 0 { // the umask took bits away
		err = f.Chmod(mode)
	}
	var st unix.Stat_t
	if err == nil && h != nil {
		// After the last write (a chmod leaves the mtime), on the open
		// file: no path lookup, and the seal need not stat it again.
		err = unix.Fstat(int(f.Fd()), &st)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	p.files.Add(1)
	p.bytes.Add(j.size)
	if h != nil {
		p.sums(j.name, FileSum{Size: j.size, XXH64: h.Sum64(), Mode: j.mode, Inode: uint64(st.Ino), MTimeNS: st.Mtim.Nano()})
	}
	return nil
}

// dirRoots keeps an os.Root open on the last folder used under root.
type dirRoots struct {
	root   *os.Root
	cur    *os.Root
	curDir string
}

// get returns an os.Root for dir ("" is root itself), already checked by
// the reader to be a real folder.
func (d *dirRoots) get(dir string) (*os.Root, error) {
	if dir == "" {
		return d.root, nil
	}
	if d.cur != nil && d.curDir == dir {
		return d.cur, nil
	}
	d.close()
	r, err := d.root.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	d.cur, d.curDir = r, dir
	return r, nil
}

func (d *dirRoots) close() {
	if d.cur != nil {
		d.cur.Close()
		d.cur = nil
	}
}
