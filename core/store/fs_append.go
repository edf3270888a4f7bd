package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/swcli/swcli/internal/writeback"
)

var _ Appender = (*FS)(nil)

const (
	// fsAppendBuffer is the size of one write of an Append (the request
	// body is read into it): large, so 600 MiB is a few hundred writes.
	fsAppendBuffer = 1 << 20
	// fsWritebackEvery: an Append asks the kernel to start writing back
	// what it wrote every this many bytes (internal/writeback), so its closing
	// sync waits for little more than the last stretch.
	fsWritebackEvery = 8 << 20
)

// Append implements Appender on one file per key, written in place (the
// one kind of key the store changes in place: see Appender). It does not
// sync (unless Epoch is ""): the kernel is asked to start writing back as
// the bytes arrive, and Seal syncs. Appends of a
// key exclude each other with an flock on the file itself (not the store's
// lock shards, which a long append would hold up), and check, once they
// hold it, that the file they opened is still the key's: a Seal or Delete
// meanwhile gives *NotFoundError.
func (s *FS) Append(ctx context.Context, key string, at int64, r io.Reader) (int64, error) {
	if err := s.checkKey(key); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	flags := os.O_WRONLY
	if at == 0 {
		flags |= os.O_CREATE
		if err := s.mkdir(key, filepath.Dir(s.path(key))); err != nil {
			return 0, err
		}
	}
	f, unlock, err := s.openGrowing(ctx, key, flags)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	defer unlock()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("fs store: append %s: %w", key, err)
	}
	if fi.Size() != at {
		return 0, &SizeError{Key: key, Size: fi.Size(), Want: at}
	}
	if _, err := f.Seek(at, io.SeekStart); err != nil {
		return 0, fmt.Errorf("fs store: append %s: %w", key, err)
	}
	w := &writebackWriter{f: f, start: at}
	n, err := io.CopyBuffer(w, ctxReader{ctx, r}, make([]byte, fsAppendBuffer))
	if w.err != nil {
		// the file's fault, not the reader's: as if nothing was appended
		_ = f.Truncate(at)
		return 0, fmt.Errorf("fs store: append %s: %w", key, w.err)
	}
	if n > 0 && s.Epoch() == "" {
		if serr := s.syncFile(f); serr != nil {
			_ = f.Truncate(at)
			return 0, fmt.Errorf("fs store: append %s: %w", key, serr)
		}
	}
	return n, err // a read error of r keeps the n bytes read before it
}

// Epoch implements Appender: the boot of this machine (Linux's boot_id),
// since the page cache keeps what Append wrote until then; "" where that
// cannot be told, and Append then syncs.
func (s *FS) Epoch() string { return s.boot }

// Seal implements Appender: under the file's lock it cuts the file to
// size, makes it durable (unless dst is a key a Deferred store commits
// unsynced) and renames it to dst's file (commit, as a Put does).
func (s *FS) Seal(ctx context.Context, key string, size int64, dst string) error {
	if err := s.checkKey(key); err != nil {
		return err
	}
	if err := s.checkKey(dst); err != nil {
		return err
	}
	f, unlock, err := s.openGrowing(ctx, key, os.O_RDWR)
	if err != nil {
		return err
	}
	defer f.Close()
	defer unlock()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("fs store: seal %s: %w", key, err)
	}
	if fi.Size() < size {
		return &SizeError{Key: key, Size: fi.Size(), Want: size}
	}
	if fi.Size() > size {
		err = f.Truncate(size)
	}
	if err == nil {
		err = f.Chmod(0o644)
	}
	synced := !s.deferred(dst)
	if err == nil && synced {
		err = s.syncFile(f)
	}
	if err != nil {
		return fmt.Errorf("fs store: seal %s: %w", key, err)
	}
	return s.commit(dst, s.path(key), PutOptions{}, synced)
}

// openGrowing opens key's file with flags and locks it; the file must
// still be the key's once locked (else *NotFoundError).
func (s *FS) openGrowing(ctx context.Context, key string, flags int) (*os.File, func(), error) {
	p := s.path(key)
	f, err := os.OpenFile(p, flags, 0o644)
	if notExist(err) {
		return nil, nil, &NotFoundError{Key: key}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("fs store: %s: %w", key, err)
	}
	unlock, err := lockFileCtx(ctx, f)
	if err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("fs store: %s: %w", key, err)
	}
	fail := func(err error) (*os.File, func(), error) {
		unlock()
		_ = f.Close()
		return nil, nil, err
	}
	have, err := f.Stat()
	if err != nil {
		return fail(fmt.Errorf("fs store: %s: %w", key, err))
	}
	now, err := os.Stat(p)
	if notExist(err) || (err == nil && !os.SameFile(have, now)) {
		return fail(&NotFoundError{Key: key})
	}
	if err != nil {
		return fail(fmt.Errorf("fs store: %s: %w", key, err))
	}
	return f, unlock, nil
}

// writebackWriter writes to f and starts the writeback of every
// fsWritebackEvery bytes behind it; err is the first write error (so the
// caller tells it from a read error).
type writebackWriter struct {
	f            *os.File
	start, ahead int64 // file offset of the first byte not yet handed to writeback; bytes written past it
	err          error
}

func (w *writebackWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		w.err = err
		return n, err
	}
	if w.ahead += int64(n); w.ahead >= fsWritebackEvery {
		writeback.Start(w.f, w.start, w.ahead)
		w.start, w.ahead = w.start+w.ahead, 0
	}
	return n, nil
}
