package bundle

// extract_writers.go: the small files of a layer are created and written
// by a few goroutines while the tar stream goes on.
//
// Creating a file is a few syscalls (openat, write, close, maybe chmod)
// that the tar reader and the zstd decoder need not wait for. Every check
// stays on the extractor's one goroutine, in entry order, before a file is
// handed over: its name, type, size, its parents (real directories, made
// by that goroutine), duplicates; a writer only creates a regular file
// with the checked name in the os.Root of its checked directory, exactly
// as the serial path does (extractor.createIn). A later entry that would
// go through such a file is refused by its name (extractor.parents) before
// anything looks at the disk, so the outcome does not depend on whether
// the writer has run yet. Large files are written by the extractor
// itself, so the memory in flight stays small. ExtractLayer waits for
// every writer before it returns, error or not.

import (
	"crypto/sha256"
	"io"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

const (
	// queuedFileMax is the largest file handed to a writer (the bytes are
	// read into a buffer of this size first).
	queuedFileMax = 256 << 10
	// writersQueue is how many files may wait for a writer.
	writersQueue = 16
)

// fileWriters is how many goroutines create a layer's small files: file
// creation spends most of its time in the kernel, so a few more than the
// CPUs keep it busy while some wait on the filesystem.
func fileWriters() int { return min(max(runtime.GOMAXPROCS(0), 2), 4) }

var queuedBuffers = sync.Pool{New: func() any { b := make([]byte, queuedFileMax); return &b }}

// dirRef is an open directory of the destination shared by the extractor
// and the writers with files in it; the last release closes it (never the
// destination's own root).
type dirRef struct {
	r    *os.Root
	refs atomic.Int32
	own  bool
}

func (d *dirRef) hold() *dirRef { d.refs.Add(1); return d }

func (d *dirRef) release() {
	if d.refs.Add(-1) == 0 && d.own {
		d.r.Close()
	}
}

// fileJob is one checked regular file for a writer.
type fileJob struct {
	raw  string
	name string // the slash path in dest
	dir  *dirRef
	base string
	mode fs.FileMode
	data *[]byte
	size int
}

// writers run the fileJobs of one extraction.
type writers struct {
	jobs chan fileJob
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error
}

// queueFile reads the content of the current small file and hands it to a
// writer, starting the writers on first use.
func (x *extractor) queueFile(raw, name string, d *dirRef, base string, mode fs.FileMode, size int64) error {
	if err := x.writersFailed(); err != nil {
		return err
	}
	bp := queuedBuffers.Get().(*[]byte)
	if _, err := io.ReadFull(x.tr, (*bp)[:size]); err != nil {
		queuedBuffers.Put(bp)
		return err
	}
	if x.w == nil {
		x.w = &writers{jobs: make(chan fileJob, writersQueue)}
		for range fileWriters() {
			x.w.wg.Go(x.writeQueued)
		}
	}
	x.w.jobs <- fileJob{raw: raw, name: name, dir: d.hold(), base: base, mode: mode, data: bp, size: int(size)}
	return nil
}

// writeQueued is a writer: it creates the files it is given until the
// queue closes; after a failure it only drains the queue.
func (x *extractor) writeQueued() {
	for j := range x.w.jobs {
		if x.writersFailed() == nil {
			err := x.createIn(j.raw, j.dir.r, j.base, func(r *os.Root) error {
				f, err := x.openNew(r, j.base, j.mode)
				if err != nil {
					return err
				}
				if _, err := f.Write((*j.data)[:j.size]); err != nil {
					f.Close()
					return err
				}
				return x.closeNew(f, j.mode, int64(j.size))
			})
			if err == nil && x.opts.Sums != nil {
				x.opts.Sums(j.name, int64(j.size), sha256.Sum256((*j.data)[:j.size]))
			}
			if err != nil {
				x.w.mu.Lock()
				if x.w.err == nil {
					x.w.err = err
				}
				x.w.mu.Unlock()
			}
		}
		queuedBuffers.Put(j.data)
		j.dir.release()
	}
}

// writersFailed is the first error of a writer, if any.
func (x *extractor) writersFailed() error {
	if x.w == nil {
		return nil
	}
	x.w.mu.Lock()
	defer x.w.mu.Unlock()
	return x.w.err
}

// waitWriters lets the writers finish what they were given and returns
// the first error one had. It is called once, when the extraction ends.
func (x *extractor) waitWriters() error {
	if x.w == nil {
		return nil
	}
	close(x.w.jobs)
	x.w.wg.Wait()
	return x.w.err
}
