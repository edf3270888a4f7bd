package venvmode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/pyenv"
)

// Doctor reports the interpreter for req.Python, its venv module and its pip.
func (m *Mode) Doctor(ctx context.Context, req mode.DoctorRequest) (mode.DoctorReport, error) {
	var rep mode.DoctorReport
	it, err := pyenv.Find(ctx, req.Python)
	if err != nil {
		rep.Tools = append(rep.Tools, mode.Tool{Name: "python", OK: false, Message: err.Error()})
		return rep, nil
	}
	rep.Tools = append(rep.Tools, mode.Tool{Name: "python", Path: it.Path, Version: it.Patch, OK: true})

	venv := mode.Tool{Name: "venv", Path: it.Path, Version: it.Patch, OK: true}
	if out, err := exec.CommandContext(ctx, it.Path, "-c", "import venv, ensurepip").CombinedOutput(); err != nil {
		venv.OK = false
		venv.Message = fmt.Sprintf("python %s cannot create venvs with pip (venv/ensurepip missing; on Debian install python3-venv): %s",
			it.Path, lastLine(string(out)))
	}
	rep.Tools = append(rep.Tools, venv)

	pip := mode.Tool{Name: "pip", OK: true}
	out, err := exec.CommandContext(ctx, it.Path, "-m", "pip", "--version").CombinedOutput()
	if err != nil {
		pip.OK = false
		pip.Message = "pip of " + it.Path + " does not run (" + lastLine(string(out)) + "); environments get their own pip from ensurepip"
		// A base interpreter without pip is fine as long as ensurepip works.
		pip.OK = venv.OK
	} else {
		// "pip 23.2.1 from /path/pip (python 3.11)"
		f := strings.Fields(string(out))
		if len(f) >= 4 {
			pip.Version = f[1]
			pip.Path = f[3]
		}
	}
	rep.Tools = append(rep.Tools, pip)
	return rep, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// Create makes what `python -m venv --without-pip PREFIX` makes (copied
// from a per-interpreter template, skeleton.go) and seeds pip (and
// setuptools where that Python bundles it) by linking from the per-
// interpreter seed cache (seed.go) instead of running ensurepip, which is
// most of `python -m venv`'s time; an interpreter whose bundled wheels
// cannot be seeded gets `python -m ensurepip --upgrade --default-pip`, what
// venv itself runs. With req.Bare there is no pip at all, because the env
// layers about to be unpacked there bring it. The prefix must not exist or
// be empty; on failure what Create made is removed.
func (m *Mode) Create(ctx context.Context, req mode.CreateRequest, ev mode.Events) error {
	_, err := m.create(ctx, req.Env, req.Bare, ev)
	return err
}

func (m *Mode) create(ctx context.Context, env mode.Env, bare bool, ev mode.Events) (interpreter, error) {
	prefix := env.Prefix
	if prefix == "" || !filepath.IsAbs(prefix) {
		return interpreter{}, mode.Errorf(mode.ErrInvalid, "prefix %q must be an absolute path", prefix)
	}
	prefix = filepath.Clean(prefix)
	existed := false
	if st, err := os.Stat(prefix); err == nil {
		if !st.IsDir() {
			return interpreter{}, mode.Errorf(mode.ErrInvalid, "prefix %s exists and is not a folder", prefix)
		}
		ents, err := os.ReadDir(prefix)
		if err != nil {
			return interpreter{}, mode.Errorf(mode.ErrInvalid, "prefix %s: %v", prefix, err)
		}
		if len(ents) > 0 {
			return interpreter{}, mode.Errorf(mode.ErrInvalid, "prefix %s exists and is not empty", prefix)
		}
		existed = true
	}
	it, err := probes(env).Find(ctx, env.Python)
	if err != nil {
		return interpreter{}, err
	}
	ev.Emit(mode.Event{Stage: "create", Current: 0, Total: 1, Message: fmt.Sprintf("python %s -m venv %s", it.Patch, prefix)})
	if err := os.MkdirAll(filepath.Dir(prefix), 0o755); err != nil {
		return interpreter{}, mode.Errorf(mode.ErrInvalid, "prefix %s: %v", prefix, err)
	}
	err = m.makeVenv(ctx, it, env, prefix, ev)
	if err == nil && !bare {
		err = m.seedOrEnsurepip(ctx, it, env, ev)
	}
	if err != nil {
		if existed {
			ents, _ := os.ReadDir(prefix)
			for _, e := range ents {
				_ = os.RemoveAll(filepath.Join(prefix, e.Name()))
			}
		} else {
			_ = os.RemoveAll(prefix)
		}
		return interpreter{}, err
	}
	ev.Emit(mode.Event{Stage: "create", Current: 1, Total: 1})
	return it, nil
}

// seedOrEnsurepip gives the venv at env.Prefix its pip.
func (m *Mode) seedOrEnsurepip(ctx context.Context, it interpreter, env mode.Env, ev mode.Events) error {
	err := m.seedPip(ctx, it, env, ev)
	if !errors.Is(err, errNoSeed) {
		return err
	}
	m.log.Debug("pip cannot be seeded by linking; running ensurepip", "python", it.Path, "reason", err)
	py, perr := envPython(env.Prefix)
	if perr != nil {
		return perr
	}
	args := []string{"-m", "ensurepip", "--upgrade", "--default-pip"}
	_, err = m.run(ctx, command{name: py, args: args, what: "python " + strings.Join(args, " ")}, ev, true)
	return err
}
