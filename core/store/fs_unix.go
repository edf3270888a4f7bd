//go:build unix

package store

import (
	"context"
	"io/fs"
	"os"
	"syscall"

	"github.com/swcli/swcli/internal/flock"
)

// lockFile takes an exclusive flock on f, waiting for it.
func lockFile(f *os.File) (release func(), err error) {
	return flock.Lock(context.Background(), f)
}

// lockFileCtx is lockFile whose wait ends with ctx.
func lockFileCtx(ctx context.Context, f *os.File) (release func(), err error) {
	return flock.Lock(ctx, f)
}

func fileID(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
