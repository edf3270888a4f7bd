package job

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/swcli/swcli/core/artifact"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/uri"
	"github.com/swcli/swcli/core/workflow"
)

// CreateOptions say what a job runs.
type CreateOptions struct {
	Runtime  string
	Model    string
	Datasets []string
	// Handler is a command line run by /bin/sh -c; Argv a command run as
	// is. Without either the model's run.handler runs.
	Handler string
	Argv    []string
	// RerunOf is the id of the job this one repeats (set by Rerun).
	RerunOf string
	// Stdout and Stderr get the handler's output as well as the log (nil:
	// the log only).
	Stdout, Stderr io.Writer
	// Grace is how long a cancelled handler has between SIGTERM and
	// SIGKILL (default 5s).
	Grace time.Duration
	// Started, if set, is called once the record exists (tests and
	// progress).
	Started func(*Record)
}

// Runner creates jobs on a workflow service (its storage root, restore
// cache and instances).
type Runner struct {
	Svc  *workflow.Service
	Jobs Jobs
}

// BadInputError is a job that could not start: what was wrong. The job is
// recorded failed.
type BadInputError struct {
	ID  string
	Msg string
}

func (e *BadInputError) Error() string { return e.Msg + " (job " + e.ID + " recorded failed)" }

// Create records a new job, lays out its inputs, runs it to the end and
// returns its record. An error before the handler starts fails the job
// (recorded, returned). A handler that exits non-zero gives a failed
// record and no error; a cancelled one (ctx, or Cancel) a cancelled record.
func (r *Runner) Create(ctx context.Context, o CreateOptions) (*Record, error) {
	now := time.Now().UTC()
	rec := &Record{ID: newID(now), Status: Running, Start: now, PID: os.Getpid(), PIDStart: selfStart(),
		RerunOf: o.RerunOf, Datasets: []Artifact{}, Output: []string{}}
	dir := r.Jobs.dir(rec.ID)
	rec.Dir, rec.Log = dir, filepath.Join(dir, "log")
	if err := os.MkdirAll(filepath.Join(dir, "output"), 0o755); err != nil {
		return nil, err
	}
	if err := r.Jobs.write(rec); err != nil {
		return nil, err
	}
	if o.Started != nil {
		o.Started(rec)
	}
	fail := func(err error) (*Record, error) {
		end := time.Now().UTC()
		rec.Status, rec.End, rec.Error = Failed, &end, strings.SplitN(err.Error(), "\n", 2)[0]
		if werr := r.Jobs.write(rec); werr != nil {
			return rec, errors.Join(err, werr)
		}
		return rec, err
	}
	bad := func(format string, args ...any) (*Record, error) {
		return fail(&BadInputError{ID: rec.ID, Msg: fmt.Sprintf(format, args...)})
	}
	if o.Runtime == "" {
		return bad("--runtime is needed: the runtime whose environment runs the handler")
	}

	// Inputs first (cheap checks), then the runtime (maybe a restore).
	env := []string{"SW_JOB_DIR=" + dir, "SW_JOB_ID=" + rec.ID}
	workdir := dir
	var handler string
	if o.Model != "" {
		a, read, place, err := r.artifact(ctx, registry.KindModel, o.Model)
		if err != nil {
			return fail(err)
		}
		rec.Model = a
		if err := artifact.Extract(ctx, place, read, filepath.Join(dir, "model")); err != nil {
			return fail(err)
		}
		handler, workdir = read.Config.Handler, filepath.Join(dir, "model")
		env = append(env, "SW_MODEL_DIR="+workdir)
	}
	seen := map[string]bool{}
	for i, ds := range o.Datasets {
		a, read, place, err := r.artifact(ctx, registry.KindDataset, ds)
		if err != nil {
			return fail(err)
		}
		if seen[a.Name] {
			return bad("--dataset %s: dataset %s is given twice; give each dataset once", ds, a.Name)
		}
		seen[a.Name] = true
		rec.Datasets = append(rec.Datasets, *a)
		d := filepath.Join(dir, "datasets", a.Name)
		if err := artifact.Extract(ctx, place, read, d); err != nil {
			return fail(err)
		}
		if i == 0 {
			env = append(env, "SW_DATASET_DIR="+d)
		}
		env = append(env, "SW_DATASET_DIR_"+envName(a.Name)+"="+d)
	}
	switch {
	case len(o.Argv) > 0:
		rec.Command = o.Argv
	case o.Handler != "":
		rec.Command = []string{"/bin/sh", "-c", o.Handler}
	case handler != "":
		rec.Command = []string{"/bin/sh", "-c", handler}
	case o.Model != "":
		return bad("model %s has no run.handler in its model.yaml; give --handler CMD or -- CMD...", rec.Model.Name)
	default:
		return bad("nothing to run: give --model (with a run.handler), --handler CMD or -- CMD...")
	}
	rt, target, err := r.runtime(ctx, o.Runtime)
	if err != nil {
		return fail(fmt.Errorf("runtime %s cannot be restored here: %w", o.Runtime, err))
	}
	rec.Runtime = rt

	cmd, code, err := r.Svc.Command(ctx, target, rec.Command, env)
	if err != nil {
		rec.ExitCode = &code
		return fail(err)
	}
	log, err := os.OpenFile(rec.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fail(err)
	}
	defer log.Close()
	cmd.Dir = workdir
	cmd.Stdout, cmd.Stderr = tee(o.Stdout, log), tee(o.Stderr, log)
	cmd.SysProcAttr = groupAttr()
	if err := cmd.Start(); err != nil {
		c := 126
		rec.ExitCode = &c
		return fail(&workflow.RunError{Cmd: rec.Command[0], Err: err})
	}
	rec.PGID = cmd.Process.Pid
	if err := r.Jobs.write(rec); err != nil {
		killGroup(rec.PGID)
		_ = cmd.Wait()
		return fail(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	if _, err := os.Stat(filepath.Join(dir, "cancel")); err == nil {
		stopGroup(rec.PGID, cmpDur(o.Grace)) // cancelled before the group was recorded
	}
	var werr error
	select {
	case werr = <-waited:
	case <-ctx.Done():
		stopGroup(rec.PGID, cmpDur(o.Grace))
		werr = <-waited
	}
	signalJob(rec.ID, rec.PGID, syscall.SIGKILL) // children that outlived the handler
	end := time.Now().UTC()
	rec.End = &end
	code, ok := workflow.ExitCode(werr)
	if !ok {
		return fail(werr)
	}
	rec.ExitCode = &code
	_, marked := os.Stat(filepath.Join(dir, "cancel"))
	switch {
	case ctx.Err() != nil || marked == nil:
		rec.Status = Cancelled
	case code == 0:
		rec.Status = Succeeded
	default:
		rec.Status, rec.Error = Failed, fmt.Sprintf("the handler exited with %d", code)
	}
	rec.Output = outputs(filepath.Join(dir, "output"))
	return rec, r.Jobs.write(rec)
}

// Rerun runs the exact versions and command of job id again.
func (r *Runner) Rerun(ctx context.Context, id string, o CreateOptions) (*Record, error) {
	old, err := r.Jobs.Get(id)
	if err != nil {
		return nil, err
	}
	if old.Runtime == nil {
		return nil, fmt.Errorf("job %s never resolved its runtime; nothing to run again", old.ID)
	}
	o.Runtime, o.Argv, o.Handler, o.RerunOf = r.here(ctx, uri.ArtifactRuntime, old.Runtime), old.Command, "", old.ID
	o.Model, o.Datasets = "", nil
	if old.Model != nil {
		o.Model = r.here(ctx, string(registry.KindModel), old.Model)
	}
	for _, d := range old.Datasets {
		o.Datasets = append(o.Datasets, r.here(ctx, string(registry.KindDataset), &d))
	}
	return r.Create(ctx, o)
}

// here names version a of kind k where this machine has it: by its digest
// in the local instance (its project, else the default one) when stored
// there, as after copying the versions of an imported job, else where the
// job found it (a.Exact). The digest is the version, so either is the same.
func (r *Runner) here(ctx context.Context, k string, a *Artifact) string {
	for _, p := range slices.Compact([]string{cmp.Or(a.Project, uri.DefaultProject), uri.DefaultProject}) {
		u := uri.URI{Instance: uri.LocalInstance, Project: p, Artifact: k, Name: a.Name, Version: a.Digest}
		inst, err := r.Svc.Instances().Open(ctx, u)
		if err != nil {
			continue
		}
		_, err = inst.Resolve(ctx, instance.RefOf(u), false)
		inst.Close()
		if err == nil {
			return u.String()
		}
	}
	return a.Exact
}

// artifact resolves a model or dataset URI and reads its version.
func (r *Runner) artifact(ctx context.Context, k registry.Kind, s string) (*Artifact, *artifact.Read, instance.Place, error) {
	u, err := uri.Parse(s)
	if err != nil {
		return nil, nil, nil, err
	}
	if u.Artifact != "" && u.Artifact != string(k) {
		return nil, nil, nil, fmt.Errorf("--%s %s names a %s; give a %s", k, s, u.Artifact, k)
	}
	if u.Kind() == uri.KindProject {
		return nil, nil, nil, fmt.Errorf("--%s %s names a project; give a %s (NAME[/version/V])", k, s, k)
	}
	u.Artifact = string(k)
	inst, err := r.Svc.Instances().Open(ctx, u)
	if err != nil {
		return nil, nil, nil, err
	}
	read, err := artifact.Open(ctx, inst, instance.RefOf(u), k)
	if err != nil {
		inst.Close()
		return nil, nil, nil, fmt.Errorf("--%s %s: %w", k, s, err)
	}
	ex := inst.URI(read.Version)
	if ex.File == "" {
		ex.Version = string(read.Version.Digest)
	}
	return &Artifact{Name: read.Config.Name, Project: read.Version.Project, Digest: string(read.Version.Digest),
		Short: read.Version.Short, URI: s, Exact: ex.String()}, read, inst, nil
}

// runtime resolves the runtime and opens its restored environment
// (restoring it into the cache when needed).
func (r *Runner) runtime(ctx context.Context, s string) (*Artifact, *workflow.Target, error) {
	u, err := uri.Parse(s)
	if err != nil {
		return nil, nil, err
	}
	if u.Artifact != "" && u.Artifact != uri.ArtifactRuntime {
		return nil, nil, fmt.Errorf("%s names a %s; --runtime needs a runtime", s, u.Artifact)
	}
	u.Artifact = uri.ArtifactRuntime
	inst, err := r.Svc.Instances().Open(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	defer inst.Close()
	v, err := inst.Resolve(ctx, instance.RefOf(u), false)
	if err != nil {
		return nil, nil, err
	}
	ex := inst.URI(v)
	if ex.File == "" {
		ex.Version = string(v.Digest)
	}
	t, err := r.Svc.OpenVersion(ctx, ex.String())
	if err != nil {
		return nil, nil, err
	}
	return &Artifact{Name: v.Name, Project: v.Project, Digest: string(v.Digest), Short: v.Short, URI: s, Exact: ex.String()}, t, nil
}

func tee(w io.Writer, log io.Writer) io.Writer {
	if w == nil {
		return log
	}
	return io.MultiWriter(w, log)
}

func cmpDur(d time.Duration) time.Duration {
	if d <= 0 {
		return 5 * time.Second
	}
	return d
}

// envName is a dataset name as an environment variable suffix: upper
// case, with . and - as _.
func envName(name string) string {
	return strings.NewReplacer(".", "_", "-", "_").Replace(strings.ToUpper(name))
}

// outputs lists the files the handler wrote to output/ (slash paths,
// sorted).
func outputs(dir string) []string {
	out := []string{}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(out)
	return out
}
