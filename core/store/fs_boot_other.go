//go:build !linux

package store

import (
	"errors"
	"os"
)

// machineBoot cannot be told here: "" (every Append and every commit syncs).
func machineBoot() string { return "" }

// syncfs does not exist here: callers sync file by file.
func syncfs(*os.File) error { return errors.ErrUnsupported }
