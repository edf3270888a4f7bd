// Package writeback owns one hint to the kernel: start writing a file's
// dirty pages to disk now, without waiting (sync_file_range
// SYNC_FILE_RANGE_WRITE), so that the fsync which later makes the file
// durable finds little left to write. It guarantees nothing by itself:
// durability still comes from that fsync. Where sync_file_range does not
// exist it does nothing and the fsync writes everything.
package writeback

import (
	"os"

	"golang.org/x/sys/unix"
)

// Start asks for n bytes of f from off to be written back (n 0: to the end
// of the file). Errors are ignored: it is only a hint.
func Start(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
