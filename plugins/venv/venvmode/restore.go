package venvmode

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/pyenv"
)

// Restore creates an environment at Env.Prefix and installs exactly the lock
// with `pip install --no-deps`: pinned versions, sources honoured (VCS, URLs,
// local wheels relative to the workdir), wheel folders first, then the
// configured indexes (none with Env.Pip.NoIndex). Packages the fresh venv
// already has at the locked version (pip, setuptools) are not reinstalled;
// packages it has that the lock lacks are removed. On failure the prefix is
// removed.
func (m *Mode) Restore(ctx context.Context, req mode.RestoreRequest, ev mode.Events) (err error) {
	env := req.Env
	if env.Python.Version == "" && env.Python.Path == "" && req.Lock.Python != "" {
		env.Python.Version = pyenv.MajorMinor(req.Lock.Python)
	}
	it, err := m.create(ctx, env, false, ev)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(env.Prefix)
		}
	}()
	if req.Lock.Python != "" && it.Version != pyenv.MajorMinor(req.Lock.Python) {
		ev.Logf("warn", "the lock is for Python %s; restoring with Python %s (%s)", req.Lock.Python, it.Patch, it.Path)
	}
	fresh, err := m.inspect(ctx, env.Prefix)
	if err != nil {
		return err
	}
	have := map[string]string{}
	for _, d := range fresh.Dists {
		have[d.Name] = d.Version
	}
	want := map[string]bool{}
	type reqLine struct {
		line   string
		hashes []string
	}
	var lines []reqLine
	hashable := true
	for _, p := range req.Lock.Packages {
		name := pyenv.CanonicalName(p.Name)
		want[name] = true
		if p.Source == "" && !p.Editable && have[name] == p.Version {
			continue
		}
		line := m.restoreLine(env, req.WheelDirs, p, ev)
		if len(p.Hashes) == 0 || strings.HasPrefix(line, "-e ") || isVCS(p.Source) {
			hashable = false
		}
		lines = append(lines, reqLine{line: line, hashes: p.Hashes})
	}
	total := int64(2)
	ev.Emit(mode.Event{Stage: "restore", Current: 1, Total: total, Message: "install the lock"})
	if len(lines) > 0 {
		var b strings.Builder
		for _, l := range lines {
			b.WriteString(l.line)
			if hashable {
				for _, h := range l.hashes {
					b.WriteString(" --hash=" + h)
				}
			}
			b.WriteString("\n")
		}
		tmp, err := os.MkdirTemp("", "swcli-venv-restore-")
		if err != nil {
			return mode.Errorf(mode.ErrInternal, "restore: %v", err)
		}
		defer os.RemoveAll(tmp)
		reqFile := filepath.Join(tmp, LockFileName)
		if err := os.WriteFile(reqFile, []byte(b.String()), 0o644); err != nil {
			return mode.Errorf(mode.ErrInternal, "restore: %v", err)
		}
		py, err := envPython(env.Prefix)
		if err != nil {
			return err
		}
		args := pipInstallArgs(env)
		for _, d := range req.WheelDirs {
			args = append(args, "--find-links", inWorkdir(env, d))
		}
		args = append(args, "--no-deps", "-r", reqFile)
		if _, err := m.run(ctx, command{
			name: py, args: args, dir: env.Workdir, env: activatedEnv(env.Prefix),
			what: "pip install -r " + LockFileName,
		}, ev, true); err != nil {
			return err
		}
	}
	// Remove what the fresh venv brought and the lock does not hold; pip last.
	var extra []string
	for name := range have {
		if !want[name] && name != "pip" {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	if _, ok := have["pip"]; ok && !want["pip"] && len(req.Lock.Packages) > 0 {
		extra = append(extra, "pip")
	}
	if len(extra) > 0 {
		py, err := envPython(env.Prefix)
		if err != nil {
			return err
		}
		if _, err := m.run(ctx, command{
			name: py,
			args: append([]string{"-m", "pip", "uninstall", "--disable-pip-version-check", "--no-input", "-y"}, extra...),
			dir:  env.Prefix, env: activatedEnv(env.Prefix),
			what: "pip uninstall " + strings.Join(extra, " "),
		}, ev, true); err != nil {
			return err
		}
	}
	ev.Emit(mode.Event{Stage: "restore", Current: total, Total: total})
	return nil
}

// restoreLine is the requirement that installs p exactly.
func (m *Mode) restoreLine(env mode.Env, wheelDirs []string, p mode.LockedPackage, ev mode.Events) string {
	pin := p.Name + "==" + p.Version
	switch {
	case p.Source == "":
		return pin
	case isVCS(p.Source):
		if p.Editable {
			return "-e " + p.Source + "#egg=" + p.Name
		}
		return p.Name + " @ " + p.Source
	case isURL(p.Source):
		if p.Editable {
			return "-e " + p.Source
		}
		return p.Name + " @ " + p.Source
	}
	// A workdir-relative path: the workdir's file if present, else the same
	// file name in a wheel folder, else the pinned version from the indexes.
	local := inWorkdir(env, filepath.FromSlash(p.Source))
	if _, err := os.Stat(local); err == nil {
		if p.Editable {
			return "-e " + local
		}
		return local
	}
	base := filepath.Base(filepath.FromSlash(p.Source))
	for _, d := range wheelDirs {
		f := filepath.Join(inWorkdir(env, d), base)
		if _, err := os.Stat(f); err == nil && !p.Editable {
			return f
		}
	}
	ev.Logf("warn", "%s: %s is not in the workdir or the wheel folders; installing %s from the configured indexes", p.Name, p.Source, pin)
	return pin
}
