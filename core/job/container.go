package job

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/swcli/swcli/core/dockerize"
	"github.com/swcli/swcli/core/uri"
)

// ContainerDir is where a job's folder is inside its container: the job
// folder read-write, its model/ and datasets/<name>/ mounted read-only over
// it, so SW_JOB_DIR, SW_MODEL_DIR and SW_DATASET_DIR* name the same layout
// as on the host.
const ContainerDir = "/opt/starwhale/job"

// Containers runs jobs in their runtime's image (--in-container). The image
// is core/dockerize's, built once per runtime version and tagged
// localhost/swcli-job/NAME:SHORT; a later job of that version finds the tag
// (its LabelRuntimeVersion label must be the version's digest) and builds
// nothing. The engine is the one dockerize finds (docker, else podman) and
// is driven through its docker-compatible command line; how it is set up
// (its runtime, limits, network) is its own configuration's business, as for
// dockerize.
type Containers struct {
	// Dockerizer builds images; its Detect (nil: dockerize.Detect) finds
	// the engine.
	Dockerizer *dockerize.Dockerizer
	// BaseImage and ImageRepo are dockerize's choices of base image.
	BaseImage, ImageRepo string
	// Log gets the output of an image build (nil: dropped).
	Log io.Writer
}

// Container is how a job ran in a container (Record.Container).
type Container struct {
	Engine string `json:"engine"`
	// Image is the tag, ImageID the image it named when the job ran.
	Image   string `json:"image"`
	ImageID string `json:"image_id"`
	// Built says this job built the image (false: an earlier job's).
	Built bool   `json:"built"`
	Name  string `json:"name"`
}

// ContainerError says a job cannot run in a container here.
type ContainerError struct{ Msg string }

func (e *ContainerError) Error() string { return "--in-container: " + e.Msg }

// command resolves the job's runtime, finds or builds its image, and
// returns the engine command that runs rec.Command in it with the job's
// folder mounted (see ContainerDir), and what to call once it has ended.
func (c *Containers) command(ctx context.Context, r *Runner, rec *Record, runtime string, lay layout) (*exec.Cmd, func(), error) {
	a, err := r.resolveRuntime(ctx, runtime)
	if err != nil {
		return nil, nil, fmt.Errorf("runtime %s: %w", runtime, err)
	}
	rec.Runtime = a
	if u, err := uri.Parse(a.Exact); err != nil || !u.IsLocal() {
		return nil, nil, &ContainerError{Msg: fmt.Sprintf("the image is built from the local store, and runtime %s is %s; copy it in first (swcli runtime copy %s local/project/%s)",
			runtime, a.Exact, a.Exact, uri.DefaultProject)}
	}
	detect := c.Dockerizer.Detect
	if detect == nil {
		detect = dockerize.Detect
	}
	eng, err := detect(ctx)
	if err != nil {
		return nil, nil, err
	}
	if eng == nil {
		return nil, nil, &ContainerError{Msg: dockerize.NoEngine + "; install one, or run the job without --in-container"}
	}
	cli, ok := eng.(dockerize.CLI)
	if !ok {
		return nil, nil, &ContainerError{Msg: fmt.Sprintf("engine %s cannot run containers from swcli (it has no docker-compatible command line)", eng.Name())}
	}
	bin := cli.Binary()
	ct := &Container{Engine: eng.Name(), Image: "localhost/swcli-job/" + a.Name + ":" + a.Short, Name: "swcli-job-" + rec.ID}
	ct.ImageID = imageID(ctx, bin, ct.Image, a.Digest)
	if ct.ImageID == "" {
		dz := *c.Dockerizer
		dz.Detect = func(context.Context) (dockerize.Engine, error) { return eng, nil }
		if _, err := dz.Dockerize(ctx, dockerize.Request{URI: a.Exact, Tags: []string{ct.Image},
			BaseImage: c.BaseImage, ImageRepo: c.ImageRepo, Log: c.Log}); err != nil {
			return nil, nil, err
		}
		if ct.ImageID = imageID(ctx, bin, ct.Image, a.Digest); ct.ImageID == "" {
			return nil, nil, &ContainerError{Msg: fmt.Sprintf("%s built %s, but `%s image inspect` does not show it as runtime %s", eng.Name(), ct.Image, filepath.Base(bin), a.Digest)}
		}
		ct.Built = true
	}
	rec.Container = ct

	args := []string{"run", "--rm", "--name", ct.Name, "-v", rec.Dir + ":" + ContainerDir}
	for _, ro := range lay.readOnly() {
		args = append(args, "-v", filepath.Join(rec.Dir, filepath.FromSlash(ro))+":"+path.Join(ContainerDir, ro)+":ro")
	}
	for _, kv := range lay.env(ContainerDir) {
		args = append(args, "-e", kv)
	}
	args = append(args, "-w", lay.workdir(ContainerDir), ct.ImageID)
	cmd := exec.Command(bin, append(args, rec.Command...)...)
	// The engine's client carries the job's id too, so cancel and reaping
	// find it (see jobProcs).
	cmd.Env = append(os.Environ(), "SW_JOB_ID="+rec.ID)
	done := func() {
		if rec.Status == Cancelled || rec.ExitCode == nil || *rec.ExitCode >= 128 {
			// The client was stopped: the container may outlive it.
			_ = exec.Command(bin, "rm", "-f", ct.Name).Run()
		}
	}
	return cmd, done, nil
}

// imageID is the id of image ref when the engine has it and it restores
// runtime version digest, else "".
func imageID(ctx context.Context, bin, ref, digest string) string {
	out, err := exec.CommandContext(ctx, bin, "image", "inspect", "--format",
		`{{.Id}} {{index .Config.Labels "`+dockerize.LabelRuntimeVersion+`"}}`, ref).Output()
	if err != nil {
		return "" // not there (or the engine failed: the build says why)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 || f[1] != digest {
		return ""
	}
	return f[0]
}
