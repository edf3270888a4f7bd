//go:build !linux

package directio

import (
	"errors"
	"os"
)

var errNoDirect = errors.New("no O_DIRECT here")

// setDirect refuses: this system's writes go through the cache.
func setDirect(*os.File, bool) error { return errNoDirect }

func isInvalid(error) bool { return false }
