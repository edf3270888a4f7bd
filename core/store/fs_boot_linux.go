package store

import (
	"os"
	"strings"
	"sync"
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
