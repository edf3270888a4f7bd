//go:build !linux

package envpack

import (
	"io/fs"
	"os"
	"path/filepath"
)

// lstatAt is the Lstat of name in the open folder dirfd, at dirPath.
func lstatAt(_ int, dirPath, name string) (fs.FileInfo, error) {
	return os.Lstat(filepath.Join(dirPath, name))
}
