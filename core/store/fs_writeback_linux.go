package store

import (
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing n bytes of f from off to
// the disk, without waiting (sync_file_range SYNC_FILE_RANGE_WRITE), so a
// later fsync has little left to wait for. Best effort: it guarantees
// nothing by itself.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// machineBoot is this boot's boot_id: it changes when the machine
// restarts, and only then.
var machineBoot = sync.OnceValue(func() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return "boot:" + strings.TrimSpace(string(b))
})
