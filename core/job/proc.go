package job

import (
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/swcli/swcli/core/artifact"
)

// groupAttr runs a command in a process group of its own, so stopping the
// group stops the handler's children too.
func groupAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// groupAlive tells whether any process of group pgid is left.
func groupAlive(pgid int) bool { return syscall.Kill(-pgid, 0) == nil }

// killGroup kills every process of group pgid.
func killGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }

// stopGroup asks group pgid to stop (SIGTERM) and kills what is left
// after grace.
func stopGroup(pgid int, grace time.Duration) {
	if syscall.Kill(-pgid, syscall.SIGTERM) != nil {
		return
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) && groupAlive(pgid) {
		time.Sleep(20 * time.Millisecond)
	}
	killGroup(pgid)
}

// selfStart is this process's start time (see procStart).
func selfStart() uint64 {
	s, _ := procStart(os.Getpid())
	return s
}

// removeTree removes a job folder, whose model and datasets are read-only.
func removeTree(dir string) error {
	for _, sub := range []string{"model", "datasets"} {
		if err := artifact.RemoveAll(filepath.Join(dir, sub)); err != nil {
			return err
		}
	}
	return os.RemoveAll(dir)
}
