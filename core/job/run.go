package job

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
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
	// InContainer runs the handler in the runtime's image (see Containers)
	// instead of its restored environment here.
	InContainer bool
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
	// Containers runs jobs created with InContainer; nil refuses them.
	Containers *Containers
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
	var handler string
	var names []string
	if o.Model != "" {
		a, read, place, err := r.artifact(ctx, registry.KindModel, o.Model)
		if err != nil {
			return fail(err)
		}
		rec.Model = a
		err = artifact.Extract(ctx, place, read, filepath.Join(dir, "model"))
		place.Close()
		if err != nil {
			return fail(err)
		}
		handler = read.Config.Handler
	}
	for _, ds := range o.Datasets {
		a, read, place, err := r.artifact(ctx, registry.KindDataset, ds)
		if err != nil {
			return fail(err)
		}
		if slices.Contains(names, a.Name) {
			place.Close()
			return bad("--dataset %s: dataset %s is given twice; give each dataset once", ds, a.Name)
		}
		names = append(names, a.Name)
		rec.Datasets = append(rec.Datasets, *a)
		err = artifact.Extract(ctx, place, read, filepath.Join(dir, "datasets", a.Name))
		place.Close()
		if err != nil {
			return fail(err)
		}
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
	lay := layout{id: rec.ID, model: rec.Model != nil, datasets: names}
	if o.InContainer {
		if r.Containers == nil {
			return bad("--in-container is not available here (no container support was given to the runner)")
		}
		cmd, done, err := r.Containers.command(ctx, r, rec, o.Runtime, lay)
		if err != nil {
			return fail(err)
		}
		defer done()
		return r.run(ctx, rec, cmd, o, fail)
	}
	rt, target, err := r.runtime(ctx, o.Runtime)
	if err != nil {
		return fail(fmt.Errorf("runtime %s cannot be restored here: %w", o.Runtime, err))
	}
	rec.Runtime = rt
	cmd, code, err := r.Svc.Command(ctx, target, rec.Command, lay.env(dir))
	if err != nil {
		rec.ExitCode = &code
		return fail(err)
	}
	cmd.Dir = lay.workdir(dir)
	return r.run(ctx, rec, cmd, o, fail)
}

// run starts the handler's command cmd (its environment and folder set),
// records its process group, waits for it (stopping it when ctx is done or
// the job is cancelled) and records how it ended.
func (r *Runner) run(ctx context.Context, rec *Record, cmd *exec.Cmd, o CreateOptions, fail func(error) (*Record, error)) (*Record, error) {
	dir := rec.Dir
	log, err := os.OpenFile(rec.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fail(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = tee(o.Stdout, log), tee(o.Stderr, log)
	cmd.SysProcAttr = groupAttr()
	subreaper := becomeSubreaper()
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
	endJob(rec.ID, rec.PGID, subreaper) // children that outlived the handler
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
	o.InContainer = o.InContainer || old.Container != nil
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
	a, err := r.resolveRuntime(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	t, err := r.Svc.OpenVersion(ctx, a.Exact)
	if err != nil {
		return nil, nil, err
	}
	return a, t, nil
}

// resolveRuntime finds the version runtime URI s names.
func (r *Runner) resolveRuntime(ctx context.Context, s string) (*Artifact, error) {
	u, err := uri.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Artifact != "" && u.Artifact != uri.ArtifactRuntime {
		return nil, fmt.Errorf("%s names a %s; --runtime needs a runtime", s, u.Artifact)
	}
	u.Artifact = uri.ArtifactRuntime
	inst, err := r.Svc.Instances().Open(ctx, u)
	if err != nil {
		return nil, err
	}
	defer inst.Close()
	v, err := inst.Resolve(ctx, instance.RefOf(u), false)
	if err != nil {
		return nil, err
	}
	ex := inst.URI(v)
	if ex.File == "" {
		ex.Version = string(v.Digest)
	}
	return &Artifact{Name: v.Name, Project: v.Project, Digest: string(v.Digest), Short: v.Short, URI: s, Exact: ex.String()}, nil
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

// layout is where a job's inputs are below its folder, and the variables
// that tell the handler; the same layout is seen at another root inside a
// container.
type layout struct {
	id       string
	model    bool
	datasets []string
}

// env is the SW_* variables of the job whose folder is at dir.
func (l layout) env(dir string) []string {
	env := []string{"SW_JOB_DIR=" + dir, "SW_JOB_ID=" + l.id}
	if l.model {
		env = append(env, "SW_MODEL_DIR="+filepath.Join(dir, "model"))
	}
	for i, name := range l.datasets {
		d := filepath.Join(dir, "datasets", name)
		if i == 0 {
			env = append(env, "SW_DATASET_DIR="+d)
		}
		env = append(env, "SW_DATASET_DIR_"+envName(name)+"="+d)
	}
	return env
}

// workdir is where the handler starts: the model's folder, else the job's.
func (l layout) workdir(dir string) string {
	if l.model {
		return filepath.Join(dir, "model")
	}
	return dir
}

// readOnly lists the folders below dir that are the model's and the
// datasets' (slash paths).
func (l layout) readOnly() []string {
	var out []string
	if l.model {
		out = append(out, "model")
	}
	for _, name := range l.datasets {
		out = append(out, "datasets/"+name)
	}
	return out
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
