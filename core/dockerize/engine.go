package dockerize

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// Engine builds an image from a context folder holding a Dockerfile.
//
// Build builds req.ContextDir/Dockerfile for req.Platform and gives the
// image every tag in req.Tags only when the whole build succeeded (nothing
// half-built is tagged); with req.Push it then pushes every tag. The
// engine's output goes to req.Log. A failed build returns a *BuildError.
// The engine adds no flags of its own: how it is configured (its runtime,
// limits, registries) is its own configuration's business.
type Engine interface {
	Name() string
	Build(ctx context.Context, req BuildRequest) error
}

// BuildRequest is one image build.
type BuildRequest struct {
	ContextDir string
	Tags       []string
	Platform   string
	Push       bool
	Log        io.Writer
}

// BuildError says a build (or push) failed. Line is the build's own one-line
// reason when it printed one (the Dockerfile's checks print "swcli: ..."),
// else the engine's last line.
type BuildError struct {
	Engine, Step, Line, ContextDir string
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("%s %s failed: %s (the Dockerfile and context are in %s)", e.Engine, e.Step, e.Line, e.ContextDir)
}

// NoEngine says that Detect found no engine, and why (what it looks for).
const NoEngine = "no container engine: no Docker engine answers `docker info` and podman is not on PATH"

// CLI is an Engine driven through a docker-compatible command line, as
// Docker and podman both are: Binary is that program, which also runs and
// inspects images (core/job runs jobs in containers with it).
type CLI interface {
	Engine
	Binary() string
}

var (
	_ CLI = (*Docker)(nil)
	_ CLI = (*Podman)(nil)
)

// Binary is the docker program.
func (d *Docker) Binary() string { return d.Bin }

// Binary is the podman program.
func (p *Podman) Binary() string { return p.Bin }

// NoEngineError says no container engine can build here.
type NoEngineError struct {
	ContextDir string
}

func (e *NoEngineError) Error() string {
	return fmt.Sprintf("%s; the Dockerfile and context are in %s: build them on a machine with one, e.g. `docker buildx build -t IMAGE %s` or `podman build -t IMAGE %s`",
		NoEngine, e.ContextDir, e.ContextDir, e.ContextDir)
}

// Detect finds the engine to build with: Docker (docker buildx) when a
// Docker engine answers `docker info`, else podman when it is on PATH.
// It returns (nil, nil) when there is neither.
func Detect(ctx context.Context) (Engine, error) {
	if bin, err := exec.LookPath("docker"); err == nil {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := exec.CommandContext(cctx, bin, "info").Run()
		cancel()
		if err == nil {
			return &Docker{Bin: bin}, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	if bin, err := exec.LookPath("podman"); err == nil {
		return &Podman{Bin: bin}, nil
	}
	return nil, nil
}

// Docker builds with `docker buildx build`.
type Docker struct{ Bin string }

var _ Engine = (*Docker)(nil)

func (d *Docker) Name() string { return "docker buildx" }

// Build runs docker buildx build with --push, or --load so the image lands
// in the local engine whatever the builder's driver.
func (d *Docker) Build(ctx context.Context, req BuildRequest) error {
	args := []string{"buildx", "build", "--platform", req.Platform}
	for _, t := range req.Tags {
		args = append(args, "-t", t)
	}
	if req.Push {
		args = append(args, "--push")
	} else {
		args = append(args, "--load")
	}
	return runStep(ctx, d.Name(), "build", req, d.Bin, append(args, req.ContextDir)...)
}

// Podman builds with `podman build`, then pushes each tag.
type Podman struct{ Bin string }

var _ Engine = (*Podman)(nil)

func (p *Podman) Name() string { return "podman" }

func (p *Podman) Build(ctx context.Context, req BuildRequest) error {
	args := []string{"build", "--platform", req.Platform}
	for _, t := range req.Tags {
		args = append(args, "-t", t)
	}
	if err := runStep(ctx, p.Name(), "build", req, p.Bin, append(args, req.ContextDir)...); err != nil {
		return err
	}
	if req.Push {
		for _, t := range req.Tags {
			if err := runStep(ctx, p.Name(), "push "+t, req, p.Bin, "push", t); err != nil {
				return err
			}
		}
	}
	return nil
}

// runStep runs an engine command, its output to req.Log and kept for the
// error's one line.
func runStep(ctx context.Context, engine, step string, req BuildRequest, bin string, args ...string) error {
	var out bytes.Buffer
	w := io.Writer(&out)
	if req.Log != nil {
		w = io.MultiWriter(&out, req.Log)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = w, w
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	line := reason(out.Bytes())
	var ee *exec.ExitError
	if line == "" && errors.As(err, &ee) {
		line = ee.String()
	} else if line == "" {
		line = err.Error()
	}
	return &BuildError{Engine: engine, Step: step, Line: line, ContextDir: req.ContextDir}
}

// swcliLine is a line swcli printed inside the build: as it is (podman) or
// after BuildKit's "#STEP SECONDS " prefix.
var swcliLine = regexp.MustCompile(`^(?:#\d+ [0-9.]+ )?swcli: (.*)$`)

// reason is the one line that says why a build failed: the last "swcli: "
// line the build printed (the Dockerfile's own checks, or swcli's errors
// inside the build), else the last non-empty line.
func reason(out []byte) string {
	var ours, last string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" {
			continue
		}
		last = l
		if m := swcliLine.FindStringSubmatch(l); m != nil {
			ours = m[1]
		}
	}
	if ours != "" {
		return ours
	}
	return last
}
