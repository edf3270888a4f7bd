package main_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type jbArtifact struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
	Exact  string `json:"exact"`
}

type jbRecord struct {
	ID        string       `json:"id"`
	Status    string       `json:"status"`
	Runtime   *jbArtifact  `json:"runtime"`
	Model     *jbArtifact  `json:"model"`
	Datasets  []jbArtifact `json:"datasets"`
	Command   []string     `json:"command"`
	ExitCode  *int         `json:"exit_code"`
	Error     string       `json:"error"`
	Dir       string       `json:"dir"`
	Output    []string     `json:"output"`
	RerunOf   string       `json:"rerun_of"`
	Container *struct {
		Image   string `json:"image"`
		ImageID string `json:"image_id"`
		Built   bool   `json:"built"`
	} `json:"container"`
}

type jbBuild struct {
	Name    string `json:"name"`
	Files   int    `json:"files"`
	Layers  int    `json:"layers"`
	Reused  int    `json:"reused"`
	Version struct {
		Digest string   `json:"digest"`
		Short  string   `json:"short"`
		Tags   []string `json:"tags"`
	} `json:"version"`
}

// jbModel writes a model folder whose handler reads the dataset, imports
// the runtime's wheel and writes an output file.
func jbModel(t *testing.T, dir string) string {
	write(t, filepath.Join(dir, "model.yaml"), "name: mnist\nrun:\n  handler: python evaluate.py\n")
	write(t, filepath.Join(dir, "evaluate.py"), `import os, sys, tiny_folder
data = open(os.path.join(os.environ["SW_DATASET_DIR"], "data.txt")).read().strip()
assert os.environ["SW_DATASET_DIR_MNIST"] == os.environ["SW_DATASET_DIR"]
assert os.getcwd() == os.environ["SW_MODEL_DIR"]
out = os.path.join(os.environ["SW_JOB_DIR"], "output", "result.txt")
open(out, "w").write("score " + data + "\n")
print("evaluated", data, "with", tiny_folder.__name__)
try:
    open("new-file", "w")
    print("model dir is writable")
except OSError:
    print("model dir is read-only")
`)
	write(t, filepath.Join(dir, "weights.bin"), strings.Repeat("w", 4096))
	write(t, filepath.Join(dir, ".swignore"), "*.log\n")
	write(t, filepath.Join(dir, "train.log"), "left out")
	return dir
}

func jbDataset(t *testing.T, dir, content string) string {
	write(t, filepath.Join(dir, "dataset.yaml"), "name: mnist\n")
	write(t, filepath.Join(dir, "data.txt"), content+"\n")
	return dir
}

func TestModelDatasetE2E(t *testing.T) {
	c := newCLI(t)
	md := jbModel(t, t.TempDir())
	b := stJSON[jbBuild](t, c.ok("-o", "json", "model", "build", md).stdout)
	assert.Equal(t, "mnist", b.Name)
	assert.Equal(t, 4, b.Files, "model.yaml, evaluate.py, weights.bin, .swignore; not train.log")
	assert.Equal(t, []string{"v0", "latest"}, b.Version.Tags)
	again := stJSON[jbBuild](t, c.ok("-o", "json", "model", "build", md).stdout)
	assert.Equal(t, b.Version.Digest, again.Version.Digest, "the same folder gives the same version")

	dd := jbDataset(t, t.TempDir(), "42")
	c.ok("dataset", "build", dd)

	// Each kind lists its own.
	assert.Contains(t, c.ok("model", "list").stdout, "mnist")
	assert.Contains(t, c.ok("dataset", "list").stdout, "mnist")
	assert.NotContains(t, c.ok("runtime", "list").stdout, "mnist")

	var info map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("-o", "json", "model", "info", "local/project/self/model/mnist/version/v0").stdout), &info))
	assert.Equal(t, "python evaluate.py", info["handler"])
	assert.Equal(t, "local/project/self/model/mnist/version/"+b.Version.Short, info["uri"])

	c.ok("model", "tag", "mnist/version/v0", "best")
	assert.Contains(t, c.ok("model", "history", "mnist").stdout, "best")

	// A dataset URI given as a model, and a missing model: one line.
	c.fail([]string{`names a dataset; give a model`}, "model", "info", "local/project/self/dataset/mnist")
	c.fail([]string{"project self has no model nope"}, "model", "info", "nope")

	// Copy to a file and back into another project: the same version.
	file := filepath.Join(c.home, "mnist.swmp")
	c.ok("model", "copy", "mnist/version/best", file)
	c.ok("model", "copy", file, "local/project/other")
	var other map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("-o", "json", "model", "info", "local/project/other/model/mnist").stdout), &other))
	assert.Equal(t, b.Version.Digest, other["digest"])
	c.fail([]string{"the bundle holds a model, not a dataset"}, "dataset", "info", func() string {
		p := filepath.Join(c.home, "wrong.swds")
		require.NoError(t, os.Link(file, p))
		return p
	}())

	// Runtime commands refuse models.
	c.fail([]string{"names a model; give a runtime"}, "runtime", "info", "local/project/self/model/mnist")
	c.fail([]string{"names a model; a runtime is needed"}, "runtime", "restore", "local/project/self/model/mnist")
	c.fail([]string{"holds a model", "not a runtime"}, "runtime", "restore", file)

	// Extract: read-only files, the ignored ones absent.
	out := filepath.Join(c.home, "x")
	c.ok("model", "extract", "mnist", "--target-dir", out)
	body, err := os.ReadFile(filepath.Join(out, "model.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(body), "handler")
	assert.NoFileExists(t, filepath.Join(out, "train.log"))

	// Remove and recover through the shared commands.
	c.ok("model", "remove", "mnist/version/v0")
	c.fail([]string{"model mnist: version v0 is removed"}, "model", "info", "mnist/version/v0")
	c.ok("model", "recover", "mnist/version/v0")
	c.ok("model", "info", "mnist/version/v0")
}

func jbJobs(t *testing.T, c *cli) []jbRecord {
	return stJSON[[]jbRecord](t, jbOK(t, c, "-o", "json", "job", "list").stdout)
}

// jbOK runs swcli and requires exit 0, without checking for processes left
// (a job may be running in the background).
func jbOK(t *testing.T, c *cli, args ...string) result {
	t.Helper()
	r := c.runAt(c.home, "", args...)
	require.Equal(t, 0, r.code, "swcli %s\n%s", strings.Join(args, " "), r)
	return r
}

func TestJobE2E(t *testing.T) {
	fx := sharedRuntime(t)
	c := newCLI(t)
	c.ok("runtime", "build", fx.wd)
	c.ok("model", "build", jbModel(t, t.TempDir()))
	c.ok("dataset", "build", jbDataset(t, t.TempDir(), "42"))

	r := c.ok("job", "create", "--model", "mnist/version/latest", "--runtime", fixtureName+"/version/latest", "--dataset", "mnist/version/latest")
	assert.Contains(t, r.stdout, "evaluated 42 with tiny_folder", "the handler ran in the runtime's environment")
	if os.Getuid() != 0 {
		assert.Contains(t, r.stdout, "model dir is read-only")
	}
	jobs := jbJobs(t, c)
	require.Len(t, jobs, 1)
	j := jobs[0]
	assert.Equal(t, "succeeded", j.Status)
	require.NotNil(t, j.ExitCode)
	assert.Equal(t, 0, *j.ExitCode)
	assert.Equal(t, []string{"result.txt"}, j.Output)
	require.NotNil(t, j.Runtime)
	require.NotNil(t, j.Model)
	assert.Contains(t, j.Runtime.Exact, "/version/sha256:")
	assert.Contains(t, j.Model.Exact, "/model/mnist/version/sha256:")
	res, err := os.ReadFile(filepath.Join(j.Dir, "output", "result.txt"))
	require.NoError(t, err)
	assert.Equal(t, "score 42\n", string(res))
	assert.Contains(t, c.ok("job", "logs", j.ID).stdout, "evaluated 42")
	assert.Contains(t, c.ok("job", "logs", "--follow", j.ID).stdout, "evaluated 42", "--follow of an ended job ends")

	// A new dataset version does not change what --rerun uses.
	c.ok("dataset", "build", jbDataset(t, t.TempDir(), "7"))
	rr := c.ok("-o", "json", "job", "create", "--rerun", j.ID)
	again := stJSON[jbRecord](t, rr.stdout)
	assert.Equal(t, "succeeded", again.Status)
	assert.Equal(t, j.ID, again.RerunOf)
	assert.Equal(t, j.Datasets[0].Digest, again.Datasets[0].Digest)
	assert.Equal(t, j.Runtime.Digest, again.Runtime.Digest)
	assert.Contains(t, rr.stderr, "evaluated 42", "the same dataset version; output on stderr with -o json")

	// A failing handler: its exit code, a failed job with its log.
	f := c.run("job", "create", "--runtime", fixtureName, "--handler", "echo boom; exit 3")
	assert.Equal(t, 3, f.code, f.String())
	failed := jbJobs(t, c)[0]
	assert.Equal(t, "failed", failed.Status)
	assert.Equal(t, 3, *failed.ExitCode)
	assert.Contains(t, c.ok("job", "logs", failed.ID).stdout, "boom")
	c.ok("job", "remove", failed.ID)

	// Bad input: one line, non-zero, the job recorded failed.
	before := len(jbJobs(t, c))
	c.fail([]string{"--model local/project/self/dataset/mnist names a dataset; give a model"},
		"job", "create", "--runtime", fixtureName, "--model", "local/project/self/dataset/mnist")
	c.fail([]string{"project self has no model nope"}, "job", "create", "--runtime", fixtureName, "--model", "nope")
	c.fail([]string{"runtime nope cannot be restored here", "no runtime nope"}, "job", "create", "--runtime", "nope", "--handler", "true")
	nohandler := t.TempDir()
	write(t, filepath.Join(nohandler, "model.yaml"), "name: bare\n")
	c.ok("model", "build", nohandler)
	c.fail([]string{"model bare has no run.handler"}, "job", "create", "--runtime", fixtureName, "--model", "bare")
	c.fail([]string{"cannot run no-such-handler"}, "job", "create", "--runtime", fixtureName, "--", "no-such-handler")
	all := jbJobs(t, c)
	require.Len(t, all, before+5)
	for _, x := range all[:5] {
		assert.Equal(t, "failed", x.Status, x.ID)
		assert.NotEmpty(t, x.Error)
	}
	c.fail([]string{"--runtime is needed"}, "job", "create", "--model", "mnist")
	c.fail([]string{"no job nope"}, "job", "info", "nope")
}

// jbStart starts a job (of the fixture runtime unless extra says) whose
// handler starts a child and waits, and returns once the handler has
// printed "started".
func jbStart(t *testing.T, c *cli, extra ...string) *runningJob {
	if len(extra) == 0 {
		extra = []string{"--runtime", fixtureName}
	}
	cmd := c.command(append([]string{"job", "create", "--handler", "sleep 300 & echo started; wait"}, extra...)...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(out)
	require.True(t, sc.Scan(), "the handler printed nothing")
	require.Equal(t, "started", sc.Text())
	go func() {
		for sc.Scan() {
		}
	}()
	return &runningJob{cmd: cmd.Process, wait: func() int { _ = cmd.Wait(); return cmd.ProcessState.ExitCode() }}
}

type runningJob struct {
	cmd  *os.Process
	wait func() int
}

func TestJobCancelE2E(t *testing.T) {
	fx := sharedRuntime(t)
	c := newCLI(t)
	c.ok("runtime", "build", fx.wd)

	// job cancel ID from another swcli.
	rj := jbStart(t, c)
	running := jbJobs(t, c)[0]
	assert.Equal(t, "running", running.Status)
	jbOK(t, c, "job", "cancel", running.ID)
	assert.Equal(t, 130, rj.wait())
	assert.Equal(t, "cancelled", jbJobs(t, c)[0].Status)
	c.assertNoProcesses("after job cancel")
	c.fail([]string{"is cancelled, not running"}, "job", "cancel", running.ID)

	// Ctrl-C on the swcli running it.
	rj = jbStart(t, c)
	require.NoError(t, rj.cmd.Signal(syscall.SIGINT))
	assert.Equal(t, 130, rj.wait())
	assert.Equal(t, "cancelled", jbJobs(t, c)[0].Status)
	c.assertNoProcesses("after Ctrl-C")

	// A killed swcli: the next job list marks the job failed and stops
	// what it left.
	rj = jbStart(t, c)
	require.NoError(t, rj.cmd.Kill())
	rj.wait()
	j := jbJobs(t, c)[0]
	assert.Equal(t, "failed", j.Status)
	assert.Contains(t, j.Error, "is gone")
	c.assertNoProcesses("after job list reaped the job")
}

// A job copied to another machine: its versions as files, its record and
// outputs as an exported job; the same job runs again there.
func TestJobExportImportE2E(t *testing.T) {
	fx := sharedRuntime(t)
	c := newCLI(t)
	c.ok("runtime", "build", fx.wd)
	c.ok("model", "build", jbModel(t, t.TempDir()))
	c.ok("dataset", "build", jbDataset(t, t.TempDir(), "42"))
	j := stJSON[jbRecord](t, c.ok("-o", "json", "job", "create", "--model", "mnist", "--runtime", fixtureName, "--dataset", "mnist").stdout)
	require.Equal(t, "succeeded", j.Status)

	out := t.TempDir()
	arch := filepath.Join(out, "job.swjob")
	c.ok("job", "export", j.ID, arch)
	again := filepath.Join(out, "again.swjob")
	c.ok("job", "export", j.ID[len(j.ID)-6:], again)
	a, err := os.ReadFile(arch)
	require.NoError(t, err)
	b, err := os.ReadFile(again)
	require.NoError(t, err)
	assert.Equal(t, a, b, "the same job exports to the same bytes")
	c.ok("runtime", "copy", j.Runtime.Exact, filepath.Join(out, "rt.swrt"))
	c.ok("model", "copy", j.Model.Exact, filepath.Join(out, "m.swmp"))
	c.ok("dataset", "copy", j.Datasets[0].Exact, filepath.Join(out, "d.swds"))

	// Another machine: a store of its own.
	d := newCLI(t)
	imp := stJSON[jbRecord](t, d.ok("-o", "json", "job", "import", arch).stdout)
	assert.Equal(t, j.ID, imp.ID)
	assert.Equal(t, j.Runtime.Digest, imp.Runtime.Digest)
	assert.Equal(t, []string{"result.txt"}, imp.Output)
	res, err := os.ReadFile(filepath.Join(imp.Dir, "output", "result.txt"))
	require.NoError(t, err)
	assert.Equal(t, "score 42\n", string(res))
	assert.Contains(t, d.ok("job", "logs", j.ID).stdout, "evaluated 42")
	d.fail([]string{"job " + j.ID + " is here already"}, "job", "import", arch)

	// Without its versions it cannot run again, and says why.
	d.fail([]string{"project self has no model mnist"}, "job", "create", "--rerun", j.ID)
	d.ok("runtime", "copy", filepath.Join(out, "rt.swrt"), "local/project/self")
	d.ok("model", "copy", filepath.Join(out, "m.swmp"), "local/project/self")
	d.ok("dataset", "copy", filepath.Join(out, "d.swds"), "local/project/self")
	rr := d.ok("-o", "json", "job", "create", "--rerun", j.ID)
	re := stJSON[jbRecord](t, rr.stdout)
	assert.Equal(t, "succeeded", re.Status)
	assert.Equal(t, j.ID, re.RerunOf)
	assert.Equal(t, j.Model.Digest, re.Model.Digest)
	assert.Equal(t, j.Datasets[0].Digest, re.Datasets[0].Digest)
	assert.Contains(t, rr.stderr, "evaluated 42 with tiny_folder")
	res, err = os.ReadFile(filepath.Join(re.Dir, "output", "result.txt"))
	require.NoError(t, err)
	assert.Equal(t, "score 42\n", string(res), "the same result from the copies")

	// A tampered archive: one line, nothing imported.
	e := newCLI(t)
	bad := filepath.Join(out, "bad.swjob")
	tampered := append([]byte{}, a...)
	tampered[len(tampered)/2] ^= 0xff
	require.NoError(t, os.WriteFile(bad, tampered, 0o644))
	e.fail([]string{bad + " is not an importable job archive"}, "job", "import", bad)
	assert.Empty(t, jbJobs(t, e))
	e.fail([]string{"no job " + j.ID}, "job", "export", j.ID, filepath.Join(out, "x.swjob"))
	assert.NoFileExists(t, filepath.Join(out, "x.swjob"), "a failed export writes nothing")
}

// A job in the runtime's image, with real podman (see dockerize_e2e_test.go
// for the sandbox's settings): the model and dataset mounted read-only, the
// outputs written through to the job's folder, and the image built once.
func TestJobInContainerE2E(t *testing.T) {
	env := podmanEnv(t)
	base := baseImage(t, env)
	c := newCLI(t)
	c.setenv(env...)
	rt := randomName("job-ct-")
	dockerizeRuntime(t, c, rt, "")
	t.Cleanup(func() { removeImagesOf(t, env, rt) })
	md := t.TempDir()
	write(t, filepath.Join(md, "model.yaml"), "name: ctmodel\nrun:\n  handler: python evaluate.py\n")
	write(t, filepath.Join(md, "evaluate.py"), `import os, sys, dk_pkg
data = open(os.path.join(os.environ["SW_DATASET_DIR"], "data.txt")).read().strip()
assert os.getcwd() == os.environ["SW_MODEL_DIR"] == "/opt/starwhale/job/model", os.getcwd()
open(os.path.join(os.environ["SW_JOB_DIR"], "output", "result.txt"), "w").write("score " + data + "\n")
print("evaluated", data, "with", dk_pkg.__name__, "in", sys.prefix)
for d in (os.environ["SW_MODEL_DIR"], os.environ["SW_DATASET_DIR_MNIST"]):
    try:
        open(os.path.join(d, "new-file"), "w")
        print(d, "is writable")
    except OSError:
        print(d, "is read-only")
`)
	c.ok("model", "build", md)
	c.ok("dataset", "build", jbDataset(t, t.TempDir(), "42"))

	r := c.ok("-o", "json", "job", "create", "--in-container", "--base-image", base, "--runtime", rt, "--model", "ctmodel", "--dataset", "mnist")
	j := stJSON[jbRecord](t, r.stdout)
	assert.Equal(t, "succeeded", j.Status, r.stderr)
	assert.Contains(t, r.stderr, "evaluated 42 with dk_pkg in /opt/starwhale/env/.starwhale/venv", "the runtime's image ran it")
	assert.Contains(t, r.stderr, "/opt/starwhale/job/model is read-only")
	assert.Contains(t, r.stderr, "/opt/starwhale/job/datasets/mnist is read-only")
	require.NotNil(t, j.Container)
	assert.True(t, j.Container.Built, "the first job builds the image")
	assert.NotEmpty(t, j.Container.ImageID)
	assert.Equal(t, []string{"result.txt"}, j.Output)
	res, err := os.ReadFile(filepath.Join(j.Dir, "output", "result.txt"))
	require.NoError(t, err)
	assert.Equal(t, "score 42\n", string(res))
	assert.NoFileExists(t, filepath.Join(j.Dir, "model", "new-file"))

	// A second job of the runtime: the image is there, nothing is built.
	f := c.run("-o", "json", "job", "create", "--in-container", "--runtime", rt, "--handler", "dk-hello; echo job=$SW_JOB_DIR; exit 4")
	assert.Equal(t, 4, f.code, f.String())
	k := stJSON[jbRecord](t, f.stdout)
	assert.Equal(t, "failed", k.Status)
	assert.Contains(t, f.stderr, "dk-pkg 1.0")
	assert.Contains(t, f.stderr, "job=/opt/starwhale/job")
	require.NotNil(t, k.Container)
	assert.False(t, k.Container.Built, "the image of the first job is reused")
	assert.Equal(t, j.Container.ImageID, k.Container.ImageID)

	// Its rerun runs in the container again, from the same image.
	rr := stJSON[jbRecord](t, c.ok("-o", "json", "job", "create", "--rerun", j.ID).stdout)
	assert.Equal(t, "succeeded", rr.Status)
	require.NotNil(t, rr.Container)
	assert.Equal(t, j.Container.ImageID, rr.Container.ImageID)
	assert.False(t, rr.Container.Built)

	// job cancel stops the container, and the job is recorded cancelled.
	rj := jbStart(t, c, "--in-container", "--runtime", rt)
	running := jbJobs(t, c)[0]
	require.Equal(t, "running", running.Status)
	jbOK(t, c, "job", "cancel", running.ID)
	assert.Equal(t, 130, rj.wait())
	assert.Equal(t, "cancelled", jbJobs(t, c)[0].Status)
	left, err := podman(t, env, "ps", "-a", "-q", "--filter", "name=swcli-job-"+running.ID)
	require.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(left), "the container is gone")
	c.assertNoProcesses("after job cancel in a container")

	// No engine: one line, the job recorded failed.
	c.setenv("PATH=" + t.TempDir())
	c.fail([]string{"--in-container: no container engine", "podman is not on PATH"}, "job", "create", "--in-container", "--runtime", rt, "--handler", "true")
	c.setenv("PATH=" + os.Getenv("PATH"))
	assert.Equal(t, "failed", jbJobs(t, c)[0].Status)
	c.fail([]string{"--base-image is for --in-container"}, "job", "create", "--runtime", rt, "--base-image", base, "--handler", "true")
}
