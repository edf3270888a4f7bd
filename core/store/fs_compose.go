package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

var _ Composer = (*FS)(nil)

// Compose implements Composer. One src is hard-linked into the temporary
// folder and renamed into place, so dst shares the src's file without a
// byte copied (safe because the store never changes a file in place: every
// commit is a fresh file). Several srcs are copied into one temporary file
// with io.Copy between *os.File, which Go turns into copy_file_range on
// Linux (the kernel copies, or reflinks on filesystems that can), then
// synced and committed like a Put.
func (s *FS) Compose(ctx context.Context, dst string, srcs []string) error {
	if err := s.checkKey(dst); err != nil {
		return err
	}
	for _, k := range srcs {
		if err := s.checkKey(k); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var tmp string
	var err error
	synced := !s.deferred(dst)
	if len(srcs) == 1 {
		tmp, err = s.linkTemp(srcs[0])
	} else {
		tmp, err = s.concatTemp(ctx, srcs, synced)
	}
	if err != nil {
		var nf *NotFoundError
		if errors.As(err, &nf) {
			return err
		}
		return fmt.Errorf("fs store: compose %s: %w", dst, err)
	}
	err = s.commit(dst, tmp, PutOptions{}, synced)
	// also after a successful commit: renaming a link onto another link of
	// the same file (dst already was src) leaves both names
	_ = os.Remove(tmp)
	return err
}

// linkTemp hard-links key's file to a new name in the temporary folder.
func (s *FS) linkTemp(key string) (string, error) {
	f, err := os.CreateTemp(s.tmp, "compose-*")
	if err != nil {
		return "", err
	}
	name := f.Name()
	_ = f.Close()
	// os.Link does not replace: free the unique name just reserved
	if err := os.Remove(name); err != nil {
		return "", err
	}
	if err := os.Link(s.path(key), name); err != nil {
		if notExist(err) {
			return "", &NotFoundError{Key: key}
		}
		return "", err
	}
	return name, nil
}

// concatTemp copies the files of keys, in order, into a new temporary
// file (synced if synced) and returns its path.
func (s *FS) concatTemp(ctx context.Context, keys []string, synced bool) (string, error) {
	return s.fillTemp(synced, func(f *os.File) error {
		for _, k := range keys {
			if err := ctx.Err(); err != nil {
				return err
			}
			err := appendFile(f, s.path(k))
			if notExist(err) {
				return &NotFoundError{Key: k}
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// appendFile copies the file at path to the end of f: *os.File to *os.File,
// so Go uses copy_file_range (or splice/sendfile) where the kernel has it.
func appendFile(f *os.File, path string) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	_, err = io.Copy(f, src)
	return err
}
