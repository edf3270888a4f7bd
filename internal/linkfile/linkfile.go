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
	return l.LinkAt(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, nil)
}

// LinkAt is Link with each path relative to an open folder (a file
// descriptor, or unix.AT_FDCWD), so that a caller placing many files of one
// folder pays no path lookup of the folders above them. st, when not nil,
// is src's lstat (the caller checked it already); a copy takes its mode
// and mtime from it.
func (l *Linker) LinkAt(srcDir int, src string, dstDir int, dst string, st *unix.Stat_t) error {
	l.mu.Lock()
	tryClone := (l.Mode == Auto || l.Mode == Clone) && !l.noClone
	tryLink := (l.Mode == Auto || l.Mode == Clone || l.Mode == Hardlink) && !l.noLink
	l.mu.Unlock()
	if tryClone {
		err := clone(srcDir, src, dstDir, dst, st)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errNoClone) {
			return err
		}
		l.fallback(&l.noClone, "clone", "hardlink", err)
	}
	if tryLink {
		err := unix.Linkat(srcDir, src, dstDir, dst, 0)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EXDEV) && !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EMLINK) && !errors.Is(err, unix.ENOTSUP) {
			return &os.LinkError{Op: "hardlink", Old: src, New: dst, Err: err}
		}
		l.fallback(&l.noLink, "hardlink", "copy", err)
	}
	return CopyAt(srcDir, src, dstDir, dst, st)
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
func clone(srcDir int, src string, dstDir int, dst string, st *unix.Stat_t) error {
	return write(srcDir, src, dstDir, dst, st, func(out, in *os.File) error {
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
func CopyFile(src, dst string) error { return CopyAt(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, nil) }

// CopyAt is CopyFile with paths relative to open folders (see LinkAt).
func CopyAt(srcDir int, src string, dstDir int, dst string, st *unix.Stat_t) error {
	return write(srcDir, src, dstDir, dst, st, func(out, in *os.File) error {
		if _, err := io.Copy(out, in); err != nil {
			return fmt.Errorf("copy %s: %w", dst, err)
		}
		return nil
	})
}

// write makes dst with fill(out, in) and src's mtime; dst is removed when
// fill fails. st is src's stat, or nil to take it from the open src.
func write(srcDir int, src string, dstDir int, dst string, st *unix.Stat_t, fill func(out, in *os.File) error) error {
	ifd, err := unix.Openat(srcDir, src, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: src, Err: err}
	}
	in := os.NewFile(uintptr(ifd), src)
	defer in.Close()
	if st == nil {
		st = new(unix.Stat_t)
		if err := unix.Fstat(ifd, st); err != nil {
			return &os.PathError{Op: "stat", Path: src, Err: err}
		}
	}
	ofd, err := unix.Openat(dstDir, dst, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, writable(st.Mode))
	if err != nil {
		return &os.PathError{Op: "create", Path: dst, Err: err}
	}
	out := os.NewFile(uintptr(ofd), dst)
	if err := fill(out, in); err != nil {
		out.Close()
		_ = unix.Unlinkat(dstDir, dst, 0)
		return err
	}
	if err := unix.UtimesNanoAt(dstDir, dst, []unix.Timespec{st.Mtim, st.Mtim}, 0); err != nil {
		out.Close()
		return fmt.Errorf("set mtime of %s: %w", dst, err)
	}
	if err := out.Close(); err != nil {
		_ = unix.Unlinkat(dstDir, dst, 0)
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return nil
}

// writable gives the owner write permission back: the environment's own
// copy is the environment's to change.
func writable(m uint32) uint32 { return m&0o777 | 0o200 }
