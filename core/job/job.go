// Package job owns jobs: running a handler with a runtime, a model and
// datasets, and the records of those runs. A job restores its runtime
// (through the restore cache of core/workflow), lays the model and datasets
// out read-only in its folder under the storage root, runs the handler in
// the runtime's environment with SW_JOB_DIR, SW_MODEL_DIR, SW_DATASET_DIR
// (and SW_DATASET_DIR_<NAME> for each dataset) and SW_JOB_ID set, streams its output to
// the caller and to its log, and records what ran:
//
//	ROOT/jobs/<id>/job.json        the record (written atomically, see Record)
//	ROOT/jobs/<id>/log             stdout and stderr of the handler
//	ROOT/jobs/<id>/model/          the model's files (read-only)
//	ROOT/jobs/<id>/datasets/<name>/ each dataset's files (read-only)
//	ROOT/jobs/<id>/output/         what the handler writes (SW_JOB_DIR/output)
//	ROOT/jobs/<id>/cancel          present once `job cancel` asked to stop it
//
// The record names the exact versions (digests) used, so Rerun runs the
// same ones again. The handler runs in its own process group: cancelling
// (the context, or Cancel from another process) stops it and its children
// (the group, and any process whose environment carries its SW_JOB_ID).
// A record left "running" by a swcli that was killed is found by its pid
// and that process's start time, and marked failed by List and Get.
//
// The package does not resolve URIs itself: Resolver does (the CLI gives one
// over core/instance and core/workflow).
package job

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/swcli/swcli/internal/atomicfile"
)

// Status of a job.
const (
	Running   = "running"
	Succeeded = "succeeded"
	Failed    = "failed"
	Cancelled = "cancelled"
)

// Artifact is one version a job used, exactly.
type Artifact struct {
	Name    string `json:"name"`
	Project string `json:"project,omitempty"`
	Digest  string `json:"digest"`
	Short   string `json:"short"`
	// URI is how the job was given it; Exact names the version by digest
	// where it was found (what Rerun uses).
	URI   string `json:"uri"`
	Exact string `json:"exact"`
}

// Record is a job's record (job.json).
type Record struct {
	ID       string     `json:"id"`
	Status   string     `json:"status"`
	Runtime  *Artifact  `json:"runtime,omitempty"`
	Model    *Artifact  `json:"model,omitempty"`
	Datasets []Artifact `json:"datasets"`
	// Command is the argv run (a handler is /bin/sh -c HANDLER).
	Command  []string   `json:"command"`
	ExitCode *int       `json:"exit_code,omitempty"`
	Error    string     `json:"error,omitempty"`
	Start    time.Time  `json:"start"`
	End      *time.Time `json:"end,omitempty"`
	Dir      string     `json:"dir"`
	Log      string     `json:"log"`
	Output   []string   `json:"output"`
	// Container says how the job ran in a container (--in-container).
	Container *Container `json:"container,omitempty"`
	// RerunOf is the job this one repeats.
	RerunOf string `json:"rerun_of,omitempty"`
	// PID and PIDStart identify the swcli process running the job (its
	// start time in clock ticks since boot, from /proc), and PGID the
	// handler's process group.
	PID      int    `json:"pid"`
	PIDStart uint64 `json:"pid_start,omitempty"`
	PGID     int    `json:"pgid,omitempty"`
}

// Jobs is the jobs folder of a storage root.
type Jobs struct{ Dir string }

// In returns the jobs of storage root root.
func In(root string) Jobs { return Jobs{Dir: filepath.Join(root, "jobs")} }

// NotFoundError says no job has that id.
type NotFoundError struct {
	ID    string
	Known []string
}

func (e *NotFoundError) Error() string {
	if len(e.Known) == 0 {
		return fmt.Sprintf("no job %s; there are no jobs (swcli job create makes one)", e.ID)
	}
	return fmt.Sprintf("no job %s; jobs: %s", e.ID, strings.Join(e.Known, ", "))
}

// NotRunningError says a job cannot be cancelled: it has ended.
type NotRunningError struct{ ID, Status string }

func (e *NotRunningError) Error() string {
	return fmt.Sprintf("job %s is %s, not running", e.ID, e.Status)
}

// RunningError says a running job cannot be removed.
type RunningError struct{ ID string }

func (e *RunningError) Error() string {
	return fmt.Sprintf("job %s is running; cancel it first (swcli job cancel %s)", e.ID, e.ID)
}

func (j Jobs) dir(id string) string { return filepath.Join(j.Dir, id) }

// write replaces a job's record. An ended job's record is synced to disk; a
// running one's is not (atomicfile.WriteVolatile): it is rewritten, synced,
// when the job ends, and lost with the machine's crash only when its job is
// lost too. Those syncs were most of what a job costs over its handler on a
// busy disk.
func (j Jobs) write(r *Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(j.dir(r.ID), "job.json")
	if r.Status == Running {
		return atomicfile.WriteVolatile(p, append(b, '\n'), 0o644)
	}
	return atomicfile.Write(p, append(b, '\n'), 0o644)
}

func (j Jobs) read(id string) (*Record, error) {
	b, err := os.ReadFile(filepath.Join(j.dir(id), "job.json"))
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("job %s: corrupt record: %w", id, err)
	}
	return &r, nil
}

// newID is sortable by creation time and unique: UTC time and 6 random hex.
func newID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// ids lists the job ids, oldest first.
func (j Jobs) ids() ([]string, error) {
	ents, err := os.ReadDir(j.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(j.Dir, e.Name(), "job.json")); err == nil {
				out = append(out, e.Name())
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// resolveID finds the job id names: the whole id or a unique suffix or
// prefix of 4 or more characters.
func (j Jobs) resolveID(id string) (string, error) {
	ids, err := j.ids()
	if err != nil {
		return "", err
	}
	var match []string
	for _, x := range ids {
		if x == id {
			return x, nil
		}
		if len(id) >= 4 && (strings.HasPrefix(x, id) || strings.HasSuffix(x, id)) {
			match = append(match, x)
		}
	}
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		return "", &NotFoundError{ID: id, Known: lastFew(ids)}
	}
	return "", fmt.Errorf("job %s is ambiguous, it matches %s; give more characters", id, strings.Join(match, ", "))
}

func lastFew(ids []string) []string {
	if len(ids) > 5 {
		return append([]string{"..."}, ids[len(ids)-5:]...)
	}
	return ids
}

// Get returns the record of job id (see resolveID), after checking that a
// running job's swcli is still alive.
func (j Jobs) Get(id string) (*Record, error) {
	full, err := j.resolveID(id)
	if err != nil {
		return nil, err
	}
	r, err := j.read(full)
	if err != nil {
		return nil, err
	}
	return r, j.reap(r)
}

// List returns every job, newest first, marking as failed those whose
// swcli was killed.
func (j Jobs) List() ([]*Record, error) {
	ids, err := j.ids()
	if err != nil {
		return nil, err
	}
	out := []*Record{}
	defer func() {
		// newest first by start time (ids of one second are not ordered)
		slices.SortStableFunc(out, func(a, b *Record) int { return b.Start.Compare(a.Start) })
	}()
	for i := len(ids) - 1; i >= 0; i-- {
		r, err := j.read(ids[i])
		if err != nil {
			return nil, err
		}
		if err := j.reap(r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// reap marks a running job whose swcli process is gone (or is another
// process with a reused pid) as failed, and stops its handler's group.
func (j Jobs) reap(r *Record) error {
	if r.Status != Running || alive(r.PID, r.PIDStart) {
		return nil
	}
	signalJob(r.ID, r.PGID, syscall.SIGKILL)
	now := time.Now().UTC()
	r.Status, r.End = Failed, &now
	if _, err := os.Stat(filepath.Join(j.dir(r.ID), "cancel")); err == nil {
		r.Status = Cancelled
	}
	r.Error = fmt.Sprintf("the swcli running it (pid %d) is gone", r.PID)
	return j.write(r)
}

// alive tells whether pid is a live process that started at start (clock
// ticks since boot, as /proc/PID/stat says; 0 skips the check).
func alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	got, err := procStart(pid)
	if err != nil {
		return false
	}
	return start == 0 || got == start
}

// procStart is field 22 of /proc/PID/stat (starttime). A zombie counts as
// gone.
func procStart(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("bad /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, errors.New("bad /proc stat")
	}
	if f[0] == "Z" || f[0] == "X" {
		return 0, errors.New("zombie")
	}
	return strconv.ParseUint(f[19], 10, 64) // field 22 is the 20th after ")"
}

// Remove deletes an ended job's folder.
func (j Jobs) Remove(id string) (*Record, error) {
	r, err := j.Get(id)
	if err != nil {
		return nil, err
	}
	if r.Status == Running {
		return nil, &RunningError{ID: r.ID}
	}
	return r, removeTree(j.dir(r.ID))
}

// Cancel asks a running job to stop: it leaves the cancel mark, then stops
// the handler's process group (SIGTERM, SIGKILL after grace); the swcli
// running the job records it cancelled. A job whose swcli is gone is
// recorded here.
func (j Jobs) Cancel(id string, grace time.Duration) (*Record, error) {
	r, err := j.Get(id)
	if err != nil {
		return nil, err
	}
	if r.Status != Running {
		return nil, &NotRunningError{ID: r.ID, Status: r.Status}
	}
	if err := os.WriteFile(filepath.Join(j.dir(r.ID), "cancel"), nil, 0o644); err != nil {
		return nil, err
	}
	if !alive(r.PID, r.PIDStart) {
		// Nobody runs it: stop what is left and record it here.
		return r, j.reap(r)
	}
	// The swcli running it sees the handler end and the mark, and records
	// it cancelled (it also checks the mark right after starting the
	// handler, in case the group was not recorded yet).
	stopJob(r.ID, r.PGID, grace)
	return r, nil
}

// Log is the path of a job's log.
func (j Jobs) Log(r *Record) string { return cmp.Or(r.Log, filepath.Join(j.dir(r.ID), "log")) }

// Follow writes job id's log to w; with follow, it keeps writing what the
// handler adds until the job ends (or ctx is done). Polling the file is the
// portable way to tail it (no inotify wrapper is kept in this repo).
func (j Jobs) Follow(ctx context.Context, id string, w io.Writer, follow bool) error {
	r, err := j.Get(id)
	if err != nil {
		return err
	}
	f, err := os.Open(j.Log(r))
	if errors.Is(err, fs.ErrNotExist) && !follow {
		return nil
	}
	for errors.Is(err, fs.ErrNotExist) {
		// The handler has not started yet.
		if r, err = j.Get(r.ID); err != nil || r.Status != Running {
			return err
		}
		if err := sleep(ctx); err != nil {
			return nil
		}
		f, err = os.Open(j.Log(r))
	}
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		if _, err := io.Copy(w, f); err != nil {
			return err
		}
		if !follow {
			return nil
		}
		if r, err = j.Get(r.ID); err != nil {
			return err
		}
		if r.Status != Running {
			_, err := io.Copy(w, f) // the last lines
			return err
		}
		if err := sleep(ctx); err != nil {
			return nil
		}
	}
}

func sleep(ctx context.Context) error {
	t := time.NewTimer(100 * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
