package dockerize

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/plugin"
	"github.com/swcli/swcli/core/spec"
	"github.com/swcli/swcli/core/workflow"
)

// Plugins gives a plugin's Info and catalog entry (its binary);
// core/plugin.Host satisfies it.
type Plugins interface {
	Info(ctx context.Context, name string) (mode.Info, plugin.Entry, error)
}

// Request is one `swcli runtime dockerize`.
type Request struct {
	// URI names a stored runtime version of the local instance.
	URI string
	// DryRun renders only: the Dockerfile, and the context when ContextDir
	// is set; nothing is built.
	DryRun bool
	// ContextDir keeps the build context there; empty means a temporary
	// folder, removed after a successful build.
	ContextDir string
	Tags       []string
	Push       bool
	// Platform is OS/ARCH; empty means the runtime's own.
	Platform  string
	BaseImage string
	// ImageRepo is the repository of derived base images (empty: the
	// default).
	ImageRepo string
	// Log receives the engine's output; may be nil.
	Log io.Writer
}

// Result is what a dockerize made.
type Result struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Digest     string   `json:"digest"`
	BaseImage  string   `json:"base_image"`
	Dockerfile string   `json:"dockerfile"`
	ContextDir string   `json:"context_dir,omitempty"`
	Engine     string   `json:"engine,omitempty"`
	Tags       []string `json:"tags"`
	Pushed     bool     `json:"pushed"`
}

// Dockerizer is the dockerize workflow over a workflow.Service.
type Dockerizer struct {
	Service *workflow.Service
	Plugins Plugins
	// Swcli is the swcli binary copied into the image (the running one).
	Swcli string
	// Version is the running swcli's version.
	Version string
	// Detect finds the engine; nil means the package's Detect.
	Detect func(ctx context.Context) (Engine, error)
}

// Dockerize renders a stored version's Dockerfile and context and, unless
// DryRun, builds (and pushes) the image. Everything that can be refused
// (platform, image names, CUDA/cuDNN) is refused before any file is
// written. A context it made itself is removed after a successful build and
// kept (and named in the error) when there is no engine or the build fails.
func (d *Dockerizer) Dockerize(ctx context.Context, req Request) (res *Result, err error) {
	ref, err := workflow.ParseRef(req.URI)
	if err != nil {
		return nil, err
	}
	local, err := d.Service.Instances().Local()
	if err != nil {
		return nil, err
	}
	b, err := d.Service.Info(ctx, local, ref)
	if err != nil {
		return nil, err
	}
	rt, err := runtimeOf(b)
	if err != nil {
		return nil, err
	}
	built := rt.OS + "/" + rt.Arch
	platform := req.Platform
	if platform == "" {
		platform = built
	}
	if err := checkPlatform(platform, rt.Name, built, runtime.GOOS+"/"+runtime.GOARCH); err != nil {
		return nil, err
	}
	if b.Manifest.LockOnly {
		return nil, fmt.Errorf("%s version %s was built with --lock-only: it has no environment layers to restore offline in an image; build it without --lock-only", rt.Name, rt.Short)
	}
	tags := req.Tags
	if len(tags) == 0 {
		if req.Push {
			return nil, fmt.Errorf("--push needs -t REGISTRY/REPOSITORY[:TAG] to push to")
		}
		tags = []string{rt.Name + ":" + rt.Short}
	}
	for _, t := range tags {
		if err := checkTag("-t", t); err != nil {
			return nil, err
		}
	}
	info, entry, err := d.Plugins.Info(ctx, rt.Mode)
	if err != nil {
		return nil, err
	}
	sum := entry.SHA256
	if sum == "" {
		if sum, err = plugin.FileSHA256(entry.Path); err != nil {
			return nil, err
		}
	}
	m, err := d.Service.Modes.Mode(ctx, rt.Mode)
	if err != nil {
		return nil, err
	}
	act, err := m.Activation(ctx, mode.ActivationRequest{Shell: "sh", Name: rt.Name,
		Env: mode.Env{Workdir: EnvDir, Prefix: workflow.PrefixOf(EnvDir, rt.Mode), Python: mode.Python{Version: rt.Python}}})
	if err != nil {
		return nil, err
	}
	dir := req.ContextDir
	temp := dir == ""
	if temp {
		if dir, err = os.MkdirTemp(os.TempDir(), "swcli-dockerize-"+rt.Name+"-"); err != nil {
			return nil, err
		}
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	plan, err := Render(rt, Options{BaseImage: req.BaseImage, ImageRepo: req.ImageRepo, Activation: act.Vars,
		NeedPython: !info.Capabilities.SelfContained, SwcliVersion: d.Version,
		Bundle: filepath.Join(dir, BundleName), Swcli: d.Swcli, Plugin: entry.Path, PluginSHA256: sum})
	if err != nil {
		if temp {
			os.RemoveAll(dir)
		}
		return nil, err
	}
	res = &Result{Name: rt.Name, Version: rt.Short, Digest: rt.Digest, BaseImage: plan.BaseImage,
		Dockerfile: string(plan.Dockerfile), Tags: tags}
	if req.DryRun && temp {
		os.RemoveAll(dir)
		return res, nil
	}
	keep := !temp
	defer func() {
		if !keep {
			os.RemoveAll(dir)
		}
	}()
	res.ContextDir = dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if _, err := d.Service.Export(ctx, workflow.Ref{Project: ref.Project, Name: rt.Name, Version: b.Version.Digest.Encoded()}, filepath.Join(dir, BundleName)); err != nil {
		return nil, err
	}
	if err := WriteContext(plan, dir); err != nil {
		return nil, err
	}
	if req.DryRun {
		return res, nil
	}
	detect := d.Detect
	if detect == nil {
		detect = Detect
	}
	eng, err := detect(ctx)
	if err != nil {
		return nil, err
	}
	if eng == nil {
		keep = true
		return nil, &NoEngineError{ContextDir: dir}
	}
	res.Engine = eng.Name()
	if err := eng.Build(ctx, BuildRequest{ContextDir: dir, Tags: tags, Platform: platform, Push: req.Push, Log: req.Log}); err != nil {
		keep = ctx.Err() == nil
		return nil, err
	}
	res.Pushed = req.Push
	if temp {
		res.ContextDir = ""
	}
	return res, nil
}

// runtimeOf reads what Render needs from a stored version.
func runtimeOf(b *workflow.Bundle) (Runtime, error) {
	rm := b.Manifest
	var sp spec.Spec
	if len(rm.Spec) > 0 {
		if err := json.Unmarshal(rm.Spec, &sp); err != nil {
			return Runtime{}, fmt.Errorf("%s version %s: its runtime manifest's spec: %v", rm.Name, b.Version.Short, err)
		}
	}
	return Runtime{Name: rm.Name, Digest: string(b.Version.Digest), Short: b.Version.Short, Mode: rm.Mode,
		Python: rm.PythonVersion, OS: rm.OS, Arch: rm.Arch, SwcliVersion: rm.SwcliVersion,
		StarwhaleVersion: sp.StarwhaleVersion, CUDA: sp.Environment.CUDA, CUDNN: sp.Environment.CUDNN,
		DockerImage: sp.Environment.Docker.Image}, nil
}
