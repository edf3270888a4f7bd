//go:build unix

// Package linkfile puts a file that lives in a cache into an environment
// without copying its bytes where the filesystem allows it: a reflink clone
// (FICLONE, btrfs/XFS/...), a hardlink, or a plain copy, as uv's and pnpm's
// link modes do. It owns only how one file is placed; what is cached and
// where is the callers' (internal/treecache, core/layercache,
// plugins/venv's pip seeder).
//
// Contract: Link never writes into src. A clone or a copy gets src's
// permission bits made writable for the owner again (the cache keeps its
// files read-only) and src's modification time (Python's .pyc files are
// valid only for the source mtime they were compiled against); a hardlink
// shares src's inode, so it stays read-only and keeps the mtime by
// construction. dst must not exist.
package linkfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Mode is how files are placed.
type Mode string

// The link modes. Auto tries Clone, then Hardlink, then Copy.
const (
	Auto     Mode = ""
	Clone    Mode = "clone"
	Hardlink Mode = "hardlink"
	Copy     Mode = "copy"
)

// EnvVar names the environment variable that sets the default mode.
const EnvVar = "SW_LINK_MODE"

// Parse reads a --link-mode value ("" or "auto" is Auto).
func Parse(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case Auto, "auto":
		return Auto, nil
	case Clone, Hardlink, Copy:
		return m, nil
	}
	return Auto, fmt.Errorf("link mode %q is not one of clone, hardlink, copy", s)
}

// FromEnv is the mode SW_LINK_MODE names (Auto when unset); a bad value is
// an error naming the variable.
func FromEnv() (Mode, error) {
	m, err := Parse(os.Getenv(EnvVar))
	if err != nil {
		return Auto, fmt.Errorf("%s: %w", EnvVar, err)
	}
	return m, nil
}

// Linker places files in one mode, falling back (clone → hardlink → copy)
// when the filesystem refuses the faster way, and remembering the fallback
// so that each later file goes straight to what works. Logf (may be nil)
// hears about each fallback once. A Linker is safe for concurrent use.
type Linker struct {
	Mode Mode
	Logf func(format string, args ...any)

	mu       sync.Mutex
	noClone  bool
	noLink   bool
	reported map[string]bool
}

// Link places src at dst (see the package doc).
func (l *Linker) Link(src, dst string) error {
	l.mu.Lock()
	tryClone := (l.Mode == Auto || l.Mode == Clone) && !l.noClone
	tryLink := (l.Mode == Auto || l.Mode == Clone || l.Mode == Hardlink) && !l.noLink
	l.mu.Unlock()
	if tryClone {
		err := clone(src, dst)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errNoClone) {
			return err
		}
		l.fallback(&l.noClone, "clone", "hardlink", err)
	}
	if tryLink {
		err := os.Link(src, dst)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EXDEV) && !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EMLINK) && !errors.Is(err, unix.ENOTSUP) {
			return fmt.Errorf("hardlink %s: %w", dst, err)
		}
		l.fallback(&l.noLink, "hardlink", "copy", err)
	}
	return CopyFile(src, dst)
}

func (l *Linker) fallback(flag *bool, from, to string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if *flag {
		return
	}
	*flag = true
	if l.Logf != nil {
		l.Logf("link mode %s is not available here (%v); using %s", from, err, to)
	}
}

var errNoClone = errors.New("filesystem cannot clone")

// clone makes dst a reflink of src with FICLONE (no library wraps this
// ioctl, so it is written here); errNoClone when the filesystem or the
// pair of filesystems cannot.
func clone(src, dst string) error {
	return write(src, dst, func(out, in *os.File) error {
		err := unix.IoctlFileClone(int(out.Fd()), int(in.Fd()))
		if errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOTTY) ||
			errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
			return fmt.Errorf("%w: %v", errNoClone, err)
		}
		if err != nil {
			return fmt.Errorf("clone %s: %w", dst, err)
		}
		return nil
	})
}

// CopyFile copies src to dst (copy_file_range underneath io.Copy on
// Linux), as Copy mode does: the owner may write, the mtime is src's.
func CopyFile(src, dst string) error {
	return write(src, dst, func(out, in *os.File) error {
		if _, err := io.Copy(out, in); err != nil {
			return fmt.Errorf("copy %s: %w", dst, err)
		}
		return nil
	})
}

// write makes dst with fill(out, in) and src's mtime; dst is removed when
// fill fails.
func write(src, dst string, fill func(out, in *os.File) error) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, writable(st.Mode()))
	if err != nil {
		return err
	}
	if err := fill(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return finish(out, dst, st)
}

func finish(out *os.File, dst string, st os.FileInfo) error {
	if err := out.Close(); err != nil {
		os.Remove(dst)
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if err := os.Chtimes(dst, st.ModTime(), st.ModTime()); err != nil {
		return fmt.Errorf("set mtime of %s: %w", dst, err)
	}
	return nil
}

// writable gives the owner write permission back: the environment's own
// copy is the environment's to change.
func writable(m os.FileMode) os.FileMode { return m.Perm() | 0o200 }
