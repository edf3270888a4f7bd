//go:build unix

package store

import (
	"context"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/swcli/swcli/internal/flock"
)

// lockFileCtx takes an exclusive flock on f; its wait ends with ctx.
func lockFileCtx(ctx context.Context, f *os.File) (release func(), err error) {
	return flock.Lock(ctx, f)
}

func fileID(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

// lockFileShared takes a shared flock on f, waiting for it (internal/flock
// takes only exclusive ones).
func lockFileShared(f *os.File) (release func(), err error) {
	fd := int(f.Fd())
	for {
		err := unix.Flock(fd, unix.LOCK_SH)
		if err == nil {
			return func() { _ = unix.Flock(fd, unix.LOCK_UN) }, nil
		}
		if err != unix.EINTR {
			return nil, err
		}
	}
}
