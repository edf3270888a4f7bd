package venvmode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/swcli/swcli/plugins/internal/fsutil"

	"github.com/swcli/swcli/core/mode"
)

// pipInstallArgs are the arguments of `python -m pip install` that every
// install shares: no version check, no prompts, and the configured indexes
// (configs.pip of runtime.yaml). PIP_* variables of the caller pass through.
func pipInstallArgs(env mode.Env) []string {
	args := []string{"-m", "pip", "install", "--disable-pip-version-check", "--no-input"}
	if env.Pip.NoIndex {
		args = append(args, "--no-index")
	} else {
		if env.Pip.IndexURL != "" {
			args = append(args, "--index-url", env.Pip.IndexURL)
		}
		for _, u := range env.Pip.ExtraIndexURL {
			args = append(args, "--extra-index-url", u)
		}
	}
	for _, h := range env.Pip.TrustedHost {
		args = append(args, "--trusted-host", h)
	}
	for _, l := range env.Pip.FindLinks {
		args = append(args, "--find-links", inWorkdir(env, l))
	}
	return args
}

// inWorkdir resolves a path relative to the workdir (URLs stay as they are).
func inWorkdir(env mode.Env, p string) string {
	if p == "" || filepath.IsAbs(p) || strings.Contains(p, "://") || env.Workdir == "" {
		return p
	}
	return filepath.Join(env.Workdir, p)
}

// Install installs the dependencies in order. pip's output streams as info
// events, with one progress event (Stage "install") per dependency.
//
// When the host keeps a state folder for the environment (Env.StateDir) and
// something was installed, Install ends with pip check and remembers a clean
// one there (checkmemo.go), so that the build that follows does not run it
// again. A conflict does not fail Install (pip itself installs such
// environments): it is logged, and Lock with Check reports it.
func (m *Mode) Install(ctx context.Context, req mode.InstallRequest, ev mode.Events) error {
	env := req.Env
	py, err := envPython(env.Prefix)
	if err != nil {
		return err
	}
	n := int64(len(req.Dependencies))
	changed := false
	for i, d := range req.Dependencies {
		if err := ctx.Err(); err != nil {
			return mode.Errorf(mode.ErrToolFailed, "install: %v", err)
		}
		ev.Emit(mode.Event{Stage: "install", Current: int64(i) + 1, Total: n, Message: describeDep(d)})
		ran, err := m.installOne(ctx, env, py, d, ev)
		if err != nil {
			return err
		}
		changed = changed || ran
	}
	if changed && env.StateDir != "" {
		ev.Emit(mode.Event{Stage: "check", Current: 0, Total: 1, Message: "pip check"})
		if err := m.pipCheck(ctx, env); err != nil {
			if ctx.Err() != nil {
				return mode.Errorf(mode.ErrToolFailed, "install: %v", ctx.Err())
			}
			m.log.Debug("pip check after install failed; a build will report it", "prefix", env.Prefix, "error", err)
		}
	}
	return nil
}

func describeDep(d mode.Dependency) string {
	switch d.Kind {
	case mode.DepPipReq:
		return "pip install -r " + d.Path
	case mode.DepPip, mode.DepWheel:
		return "pip install " + strings.Join(d.Packages, " ")
	case mode.DepFile:
		return "copy " + d.Src + " to " + d.Dest
	case mode.DepCommand:
		return d.Command
	}
	return d.Kind
}

func (m *Mode) installOne(ctx context.Context, env mode.Env, py string, d mode.Dependency, ev mode.Events) (bool, error) {
	pip := func(what string, extra ...string) (bool, error) {
		_, err := m.run(ctx, command{
			name: py,
			args: append(pipInstallArgs(env), extra...),
			dir:  env.Workdir,
			env:  activatedEnv(env.Prefix),
			what: what,
		}, ev, true)
		return true, err
	}
	switch d.Kind {
	case mode.DepPipReq:
		if d.Path == "" {
			return false, mode.Errorf(mode.ErrInvalid, "pip_req dependency without a path")
		}
		p := inWorkdir(env, d.Path)
		data, err := os.ReadFile(p)
		if err != nil {
			return false, mode.Errorf(mode.ErrInvalid, "requirements file %s: %v", d.Path, err)
		}
		if !requiresAnything(data) {
			ev.Logf("info", "%s lists no requirements; nothing to install", d.Path)
			return false, nil
		}
		return pip("pip install -r "+d.Path, "-r", p)
	case mode.DepPip:
		if len(d.Packages) == 0 {
			return false, nil
		}
		return pip("pip install "+strings.Join(d.Packages, " "), d.Packages...)
	case mode.DepWheel:
		if len(d.Packages) == 0 {
			return false, nil
		}
		var paths []string
		for _, p := range d.Packages {
			ap := inWorkdir(env, p)
			if _, err := os.Stat(ap); err != nil {
				return false, mode.Errorf(mode.ErrInvalid, "wheel %s: %v", p, err)
			}
			paths = append(paths, ap)
		}
		return pip("pip install "+strings.Join(d.Packages, " "), paths...)
	case mode.DepFile:
		if d.Src == "" || d.Dest == "" {
			return false, mode.Errorf(mode.ErrInvalid, "file dependency needs src and dest (got src %q, dest %q)", d.Src, d.Dest)
		}
		src := inWorkdir(env, d.Src)
		dest := d.Dest
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(env.Prefix, dest)
		}
		if err := fsutil.CopyPath(src, dest); err != nil {
			return false, mode.Errorf(mode.ErrInvalid, "copy %s to %s: %v", d.Src, d.Dest, err)
		}
		ev.Logf("info", "copied %s to %s", d.Src, dest)
		return true, nil
	case mode.DepCommand:
		if strings.TrimSpace(d.Command) == "" {
			return false, nil
		}
		_, err := m.run(ctx, command{
			name: "/bin/sh",
			args: []string{"-c", d.Command},
			dir:  env.Workdir,
			env:  activatedEnv(env.Prefix),
			what: fmt.Sprintf("command %q", d.Command),
		}, ev, true)
		return true, err
	case mode.DepConda, mode.DepCondaEnv:
		return false, mode.Errorf(mode.ErrUnsupported, "the venv mode cannot install %s dependencies (%s); use mode: conda", d.Kind, describeDep(d))
	}
	return false, mode.Errorf(mode.ErrInvalid, "unknown dependency kind %q", d.Kind)
}

// requiresAnything tells whether a requirements file can make pip install
// something: a line that is not blank, a comment, or a global option
// (--index-url, --find-links ...). Lines that name other files (-r, -c)
// or editables (-e) count, as does anything this reading does not know.
func requiresAnything(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if i := strings.Index(line, " #"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasPrefix(line, "-") {
			return true
		}
		opt, _, _ := strings.Cut(strings.Fields(line)[0], "=")
		switch opt {
		case "-i", "--index-url", "--extra-index-url", "--no-index", "-f", "--find-links",
			"--trusted-host", "--pre", "--prefer-binary", "--only-binary", "--no-binary":
			continue
		}
		return true
	}
	return false
}
