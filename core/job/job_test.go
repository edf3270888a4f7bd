package job

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReapKilledRun(t *testing.T) {
	j := In(t.TempDir())
	// A real process that has exited: its pid is no longer alive.
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	dead := &Record{ID: "20260101-000000-aaaaaa", Status: Running, PID: cmd.Process.Pid, Start: time.Now().UTC()}
	// This process, but with another start time: a reused pid.
	reused := &Record{ID: "20260101-000001-bbbbbb", Status: Running, PID: os.Getpid(), PIDStart: selfStart() + 1, Start: time.Now().UTC()}
	live := &Record{ID: "20260101-000002-cccccc", Status: Running, PID: os.Getpid(), PIDStart: selfStart(), Start: time.Now().UTC()}
	for _, r := range []*Record{dead, reused, live} {
		require.NoError(t, os.MkdirAll(j.dir(r.ID), 0o755))
		require.NoError(t, j.write(r))
	}
	recs, err := j.List()
	require.NoError(t, err)
	require.Len(t, recs, 3)
	assert.Equal(t, []string{live.ID, reused.ID, dead.ID}, []string{recs[0].ID, recs[1].ID, recs[2].ID}, "newest first")
	assert.Equal(t, Running, recs[0].Status)
	assert.Equal(t, Failed, recs[1].Status)
	assert.Equal(t, Failed, recs[2].Status)
	assert.Contains(t, recs[2].Error, "is gone")
	again, err := j.read(dead.ID)
	require.NoError(t, err)
	assert.Equal(t, Failed, again.Status, "written back")

	_, err = j.Remove(live.ID)
	var re *RunningError
	require.ErrorAs(t, err, &re)
	_, err = j.Cancel(dead.ID, time.Second)
	var nr *NotRunningError
	require.ErrorAs(t, err, &nr)
}

func TestResolveID(t *testing.T) {
	j := In(t.TempDir())
	for _, id := range []string{"20260101-000000-aaaaaa", "20260101-000000-aabbbb"} {
		require.NoError(t, os.MkdirAll(j.dir(id), 0o755))
		require.NoError(t, j.write(&Record{ID: id, Status: Succeeded}))
	}
	r, err := j.Get("bbbb")
	require.NoError(t, err)
	assert.Equal(t, "20260101-000000-aabbbb", r.ID)
	_, err = j.Get("20260101")
	assert.ErrorContains(t, err, "is ambiguous")
	_, err = j.Get("zzzz")
	var nf *NotFoundError
	require.ErrorAs(t, err, &nf)
	_, err = os.Stat(filepath.Join(j.Dir, "20260101-000000-aaaaaa", "job.json"))
	require.NoError(t, err)
	_, err = j.Remove("aaaaaa")
	require.NoError(t, err)
	assert.NoDirExists(t, j.dir("20260101-000000-aaaaaa"))
}

func TestEnvName(t *testing.T) {
	assert.Equal(t, "MNIST_V2_TEST", envName("mnist.v2-test"))
}

func TestEndJobKillsOrphans(t *testing.T) {
	require.True(t, becomeSubreaper())
	const id = "20260101-000000-dddddd"
	// The handler starts a process in a session (and group) of its own,
	// which starts one more, prints their pids and exits: both outlive it.
	pidFile := filepath.Join(t.TempDir(), "pids")
	cmd := exec.Command("/bin/sh", "-c", `setsid sh -c 'sleep 300 & echo $! >> "$0"; exec sleep 301' "$0" </dev/null >/dev/null 2>&1 &
echo $! >> "$0"; while [ "$(wc -l < "$0")" -lt 2 ]; do sleep 0.05; done`, pidFile)
	cmd.Env = append(os.Environ(), "SW_JOB_ID="+id)
	cmd.SysProcAttr = groupAttr()
	require.NoError(t, cmd.Run())
	out, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		pid, err := strconv.Atoi(f)
		require.NoError(t, err)
		pids = append(pids, pid)
	}
	require.Len(t, pids, 2, "%q", out)
	for _, pid := range pids {
		require.True(t, alive(pid, 0), "pid %d runs before", pid)
	}
	// A child of ours that is not the job's is left alone.
	other := exec.Command("sleep", "300")
	require.NoError(t, other.Start())
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })

	kids, err := children()
	require.NoError(t, err)
	assert.True(t, slices.Contains(kids, pids[0]) || slices.Contains(kids, pids[1]), "an orphan is a child of ours: %v, %v", kids, pids)

	endJob(id, cmd.Process.Pid, true)
	for _, pid := range pids {
		assert.False(t, alive(pid, 0), "pid %d is gone", pid)
	}
	assert.True(t, alive(other.Process.Pid, 0), "another child is not the job's")
	assert.Empty(t, jobProcs(id))
}
