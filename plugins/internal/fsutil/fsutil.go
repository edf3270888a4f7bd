// Package fsutil holds the file copying the repository's mode plugins share:
// the `files: [{src, dest}]` dependency of runtime.yaml copies a file or a
// folder tree into the environment.
package fsutil

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// CopyPath copies a file or a folder tree from src to dest. A file copied
// onto an existing folder lands inside it; symlinks in a tree are copied as
// symlinks; modes are kept.
func CopyPath(src, dest string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		if dst, err := os.Stat(dest); err == nil && dst.IsDir() {
			dest = filepath.Join(dest, filepath.Base(src))
		}
		return CopyFile(src, dest, st.Mode().Perm())
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dest, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			_ = os.Remove(target)
			return os.Symlink(l, target)
		case info.Mode().IsRegular():
			return CopyFile(p, target, info.Mode().Perm())
		}
		return nil
	})
}

// CopyFile copies one regular file, making dest's folder.
func CopyFile(src, dest string, perm fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
