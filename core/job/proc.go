package job

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
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

// jobProcs lists the processes whose environment carries SW_JOB_ID=id:
// the handler and every descendant, whatever process group they moved to,
// found even when the record does not have the group yet (a swcli killed
// between starting the handler and writing its record).
func jobProcs(id string) []int {
	want := []byte("SW_JOB_ID=" + id + "\x00")
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err == nil && bytes.Contains(append([]byte{0}, b...), append([]byte{0}, want...)) {
			out = append(out, pid)
		}
	}
	return out
}

// signalJob sends sig to the job's process group and to every process
// jobProcs finds.
func signalJob(id string, pgid int, sig syscall.Signal) {
	if pgid > 0 {
		_ = syscall.Kill(-pgid, sig)
	}
	for _, pid := range jobProcs(id) {
		_ = syscall.Kill(pid, sig)
	}
}

// stopJob is stopGroup for a job this process does not run: SIGTERM, then
// SIGKILL to what is left after grace.
func stopJob(id string, pgid int, grace time.Duration) {
	signalJob(id, pgid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) && (len(jobProcs(id)) > 0 || (pgid > 0 && groupAlive(pgid))) {
		time.Sleep(20 * time.Millisecond)
	}
	signalJob(id, pgid, syscall.SIGKILL)
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
