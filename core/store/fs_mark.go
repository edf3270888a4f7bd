package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

var _ Marker = (*FS)(nil)

// Mark implements Marker: under the key's lock, it sets the time of key's
// file when it exists (one utimensat), else creates it in place with
// value (O_EXCL, no temporary file and no rename: a reader may see it
// short for that moment, which Marker allows). A SYNCED store then
// fsyncs the file (and, when it made it, its folder); a DEFERRED one does
// what an unsynced commit does (the renew lock held, this boot's marker
// durable first) for a key its Checker names, and syncs other keys.
func (s *FS) Mark(ctx context.Context, key string, value []byte) error {
	if err := s.checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	synced := !s.deferred(key)
	if !synced {
		release, err := s.beginUnsynced()
		if err != nil {
			return fmt.Errorf("fs store: mark %s: %w", key, err)
		}
		defer release()
	}
	dst := s.path(key)
	dir := filepath.Dir(dst)
	unlock, err := s.lock(key)
	if err != nil {
		return fmt.Errorf("fs store: mark %s: %w", key, err)
	}
	defer unlock()
	for attempt := 0; ; attempt++ {
		fi, err := os.Lstat(dst)
		if err == nil {
			if !fi.Mode().IsRegular() {
				return conflictError(key) // a folder of other keys
			}
			now := time.Now()
			err = os.Chtimes(dst, now, now)
		}
		if err == nil {
			if synced {
				return s.syncMarked(key, dst, "")
			}
			return nil
		}
		if !notExist(err) {
			return fmt.Errorf("fs store: mark %s: %w", key, err)
		}
		if err := s.mkdir(key, dir); err != nil {
			return err
		}
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		switch {
		case err == nil:
		case errors.Is(err, fs.ErrExist) && attempt < 10:
			continue // made by a writer that does not take the lock (none today): set its time
		case errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.ENOTDIR):
			return conflictError(key)
		case notExist(err) && attempt < 10:
			continue // a concurrent Delete pruned the folder
		default:
			return fmt.Errorf("fs store: mark %s: %w", key, err)
		}
		_, err = f.Write(value)
		if err == nil && synced {
			err = s.syncFile(f)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(dst)
			return fmt.Errorf("fs store: mark %s: %w", key, err)
		}
		if synced {
			return s.syncMarked(key, "", dir)
		}
		return nil
	}
}

// syncMarked makes a synced Mark durable: the file whose time it set, or
// the folder it made the file in.
func (s *FS) syncMarked(key, file, dir string) error {
	p := file
	if p == "" {
		p = dir
	}
	if err := s.syncPath(p); err != nil {
		return fmt.Errorf("fs store: mark %s: %w", key, err)
	}
	return nil
}
