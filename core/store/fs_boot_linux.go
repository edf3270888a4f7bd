package store

import (
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// machineBoot is this boot's boot_id: it changes when the machine
// restarts, and only then.
var machineBoot = sync.OnceValue(func() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return "boot:" + strings.TrimSpace(string(b))
})

// syncfs makes everything written to f's filesystem durable (syncfs(2)).
func syncfs(f *os.File) error { return unix.Syncfs(int(f.Fd())) }
