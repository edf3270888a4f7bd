// Package atomicfile writes a file so that a crash or a failed write leaves
// the old content or the new one, never a part: a temp file in the same
// folder, synced, then renamed over the target.
package atomicfile

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes data to path (making its folder) through a temp file and a
// rename.
func Write(path string, data []byte, perm fs.FileMode) error {
	return WriteFunc(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFunc is Write for content that write streams (a bundle file). If
// write fails, the old file stays as it was.
func WriteFunc(path string, perm fs.FileMode, write func(io.Writer) error) error {
	return writeFunc(path, perm, write, true)
}

// WriteVolatile is Write without the sync: a crash of the writing process
// leaves the old content or the new one, but a crash of the machine may
// leave neither (an empty or missing file). It is for state that is
// rewritten soon with Write and whose loss with the machine's is harmless
// (a running job's record), where a sync on a busy disk would cost more
// than the work it records.
func WriteVolatile(path string, data []byte, perm fs.FileMode) error {
	return writeFunc(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, false)
}

func writeFunc(path string, perm fs.FileMode, write func(io.Writer) error, sync bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if sync {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
