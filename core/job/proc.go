package job

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

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
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err == nil && pid != os.Getpid() && carries(pid, id) {
			out = append(out, pid)
		}
	}
	return out
}

// carries tells whether process pid's environment has SW_JOB_ID=id.
func carries(pid int, id string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	return err == nil && bytes.Contains(append([]byte{0}, b...), []byte("\x00SW_JOB_ID="+id+"\x00"))
}

// becomeSubreaper makes this process the child subreaper of what it starts
// (Linux's PR_SET_CHILD_SUBREAPER): a handler's descendants that outlive
// it become this process's children rather than init's, so the end of a
// job finds them among its own children instead of reading every process's
// environment (jobProcs), which costs tens of milliseconds on a busy
// machine.
func becomeSubreaper() bool {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == nil
}

// children lists this process's children (every thread's).
func children() ([]int, error) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/children")
		if errors.Is(err, fs.ErrNotExist) {
			continue // the thread has ended
		}
		if err != nil {
			return nil, err
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				out = append(out, pid)
			}
		}
	}
	return out, nil
}

// endJob kills what is left of a job whose handler has exited: its process
// group, and the processes carrying its SW_JOB_ID that moved out of the
// group. As a subreaper those are this process's children (killing one
// makes its own children ours: hence the rounds), else every process is
// looked at (signalJob).
func endJob(id string, pgid int, subreaper bool) {
	killGroup(pgid)
	if !subreaper {
		signalJob(id, pgid, syscall.SIGKILL)
		return
	}
	for round := 0; round < 64; round++ {
		kids, err := children()
		if err != nil {
			signalJob(id, pgid, syscall.SIGKILL)
			return
		}
		var left []int
		for _, pid := range kids {
			if carries(pid, id) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 {
			return
		}
		for _, pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		for _, pid := range left {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, 0, nil)
		}
	}
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
