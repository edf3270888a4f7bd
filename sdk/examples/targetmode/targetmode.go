// Package targetmode is an example third-party environment mode for swcli,
// written only against swcli's public plugin API (core/mode for the plain
// types, sdk to serve it, sdk/pyenv for what every Python mode needs:
// interpreters, dist-info, running pip, shell quoting; sdk/modetest,
// sdk/sdktest and sdk/testpy to test it). Copy it as the start of your own
// mode.
//
// The "target" mode makes an environment that is a plain folder of packages,
// like an AWS Lambda layer or a PEX: no venv, no copy of the interpreter.
//
//	PREFIX/site-packages/   pip install --target PREFIX/site-packages ...
//	PREFIX/bin/python       #!/bin/sh wrapper: PYTHONPATH=PREFIX/site-packages
//	                        exec BASE -s "$@"  (BASE: a Python X.Y of this machine)
//	PREFIX/bin/<script>     console scripts, as /bin/sh trampolines that run
//	                        the bin/python beside them
//
// Because the interpreter is the base one, sys.prefix is the base
// interpreter's prefix, not PREFIX: what makes the environment is
// bin/python's PYTHONPATH.
//
// Like every mode it keeps no state between calls: everything is read back
// from the folder at the prefix it is given.
package targetmode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/pyenv"
)

// Name is the mode's name: `mode: target` in runtime.yaml.
const Name = "target"

// Version is the plugin's version, reported by Info.
var Version = "0.1.0"

const (
	siteDir = "site-packages" // where packages go, relative to the prefix
	lockTxt = "requirements-lock.txt"
)

// Mode is the target mode. It has no fields: all state is on disk.
type Mode struct{}

var _ mode.Mode = (*Mode)(nil)

// New returns the target mode.
func New() *Mode { return &Mode{} }

// Info describes the mode.
func (m *Mode) Info(ctx context.Context) (mode.Info, error) {
	return mode.Info{
		Name:             Name,
		Kind:             "mode",
		Version:          Version,
		ProtocolVersions: []int{mode.ProtocolVersion},
		Capabilities:     mode.Capabilities{Relocate: true},
	}, nil
}

// ---------------------------------------------------------------- doctor

// Doctor reports the base interpreter and its pip (which installs into the
// target folder).
func (m *Mode) Doctor(ctx context.Context, req mode.DoctorRequest) (mode.DoctorReport, error) {
	py, err := pyenv.Find(ctx, req.Python)
	if err != nil {
		return mode.DoctorReport{Tools: []mode.Tool{{Name: "python", Message: err.Error()}}}, nil
	}
	rep := mode.DoctorReport{Tools: []mode.Tool{{Name: "python", Path: py.Path, Version: py.Patch, OK: true}}}
	pip := mode.Tool{Name: "pip", OK: true}
	out, err := exec.CommandContext(ctx, py.Path, "-m", "pip", "--version").Output()
	if f := strings.Fields(string(out)); err == nil && len(f) >= 4 {
		pip.Version, pip.Path = f[1], f[3] // "pip 24.0 from /path/pip (python 3.12)"
	} else {
		pip.OK = false
		pip.Message = "python " + py.Path + " has no pip; the target mode installs with the base interpreter's pip"
	}
	return mode.DoctorReport{Tools: append(rep.Tools, pip)}, nil
}

// ---------------------------------------------------------------- create

// Create makes PREFIX/site-packages and the PREFIX/bin/python wrapper for
// the Python of Env.Python. A normal create also checks that the base
// interpreter has pip (Install needs it); Bare skips that check, since the
// host is about to unpack env layers and will not install anything.
func (m *Mode) Create(ctx context.Context, req mode.CreateRequest, ev mode.Events) error {
	_, err := create(ctx, req.Env, !req.Bare, ev)
	return err
}

func create(ctx context.Context, env mode.Env, needPip bool, ev mode.Events) (pyenv.Interpreter, error) {
	prefix := env.Prefix
	if !filepath.IsAbs(prefix) {
		return pyenv.Interpreter{}, mode.Errorf(mode.ErrInvalid, "prefix %q must be an absolute path", prefix)
	}
	if ents, err := os.ReadDir(prefix); err == nil && len(ents) > 0 {
		return pyenv.Interpreter{}, mode.Errorf(mode.ErrInvalid, "prefix %s exists and is not empty", prefix)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return pyenv.Interpreter{}, mode.Errorf(mode.ErrInvalid, "prefix %s: %v", prefix, err)
	}
	py, err := pyenv.Find(ctx, env.Python)
	if err != nil {
		return pyenv.Interpreter{}, err
	}
	if needPip {
		if out, err := exec.CommandContext(ctx, py.Path, "-m", "pip", "--version").CombinedOutput(); err != nil {
			return pyenv.Interpreter{}, &mode.Error{Code: mode.ErrNoTool, Message: "python " + py.Path + " has no pip; the target mode installs with the base interpreter's pip", Detail: string(out)}
		}
	}
	ev.Emit(mode.Event{Stage: "create", Message: "target folder for Python " + py.Patch})
	_, statErr := os.Stat(prefix)
	if err := os.MkdirAll(filepath.Join(prefix, siteDir), 0o755); err == nil {
		err = writeWrapper(prefix, py)
	}
	if err != nil {
		if errors.Is(statErr, fs.ErrNotExist) {
			os.RemoveAll(prefix)
		}
		return pyenv.Interpreter{}, mode.Errorf(mode.ErrInternal, "create %s: %v", prefix, err)
	}
	return py, nil
}

// writeWrapper writes PREFIX/bin/python. It holds absolute paths (the
// prefix and the base interpreter), so it is never packed: Create and
// Relocate write it on each machine.
func writeWrapper(prefix string, py pyenv.Interpreter) error {
	script := "#!/bin/sh\n" +
		"# Written by swcli's target mode: Python " + py.Patch + " on the packages of this folder.\n" +
		"unset PYTHONHOME\n" +
		"PYTHONPATH=" + pyenv.ShQuote(filepath.Join(prefix, siteDir)) + "\"${PYTHONPATH:+:$PYTHONPATH}\"\n" +
		"export PYTHONPATH\n" +
		"exec " + pyenv.ShQuote(py.Path) + " -s \"$@\"\n"
	if err := os.MkdirAll(filepath.Join(prefix, "bin"), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(prefix, "bin", "python"), []byte(script), 0o755)
}

// ---------------------------------------------------------------- install

// Install installs the dependencies in order with
// `BASE -m pip install --target PREFIX/site-packages --upgrade`, then writes
// the console scripts of what was installed into PREFIX/bin.
func (m *Mode) Install(ctx context.Context, req mode.InstallRequest, ev mode.Events) error {
	env := req.Env
	if err := ctx.Err(); err != nil {
		return mode.Errorf(mode.ErrToolFailed, "install: %v", err)
	}
	py, err := envPython(ctx, env)
	if err != nil {
		return err
	}
	for i, d := range req.Dependencies {
		ev.Emit(mode.Event{Stage: "install", Current: int64(i + 1), Total: int64(len(req.Dependencies)), Message: d.Kind})
		if err := installOne(ctx, env, py, d, ev); err != nil {
			return err
		}
	}
	return tidy(env.Prefix)
}

func installOne(ctx context.Context, env mode.Env, py pyenv.Interpreter, d mode.Dependency, ev mode.Events) error {
	switch d.Kind {
	case mode.DepPipReq:
		p := inWorkdir(env, d.Path)
		if _, err := os.Stat(p); d.Path == "" || err != nil {
			return mode.Errorf(mode.ErrInvalid, "requirements file %q: not found", d.Path)
		}
		return pipInstall(ctx, env, py, ev, "-r", p)
	case mode.DepPip:
		return pipInstall(ctx, env, py, ev, d.Packages...)
	case mode.DepWheel:
		var paths []string
		for _, w := range d.Packages {
			p := inWorkdir(env, w)
			if _, err := os.Stat(p); err != nil {
				return mode.Errorf(mode.ErrInvalid, "wheel %s: not found", w)
			}
			paths = append(paths, p)
		}
		return pipInstall(ctx, env, py, ev, paths...)
	case mode.DepFile:
		if d.Src == "" || d.Dest == "" {
			return mode.Errorf(mode.ErrInvalid, "file dependency needs src and dest")
		}
		dest := d.Dest
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(env.Prefix, dest)
		}
		if err := copyTree(inWorkdir(env, d.Src), dest); err != nil {
			return mode.Errorf(mode.ErrInvalid, "copy %s to %s: %v", d.Src, d.Dest, err)
		}
		return nil
	case mode.DepCommand:
		// PIP_TARGET makes a `python -m pip install` in the command install
		// here rather than into the base interpreter.
		cmdEnv := append(activatedEnv(env.Prefix), "PIP_TARGET="+filepath.Join(env.Prefix, siteDir), "PIP_UPGRADE=1")
		return pyenv.RunTool(ctx, ev, env.Workdir, cmdEnv, "command "+d.Command, "/bin/sh", "-c", d.Command)
	case mode.DepConda, mode.DepCondaEnv:
		return mode.Errorf(mode.ErrUnsupported, "the target mode cannot install %s dependencies; use mode: conda", d.Kind)
	}
	return mode.Errorf(mode.ErrInvalid, "unknown dependency kind %q", d.Kind)
}

// pipInstall runs the base interpreter's pip with --target. --upgrade makes
// pip replace what the folder already has (without it pip skips it).
func pipInstall(ctx context.Context, env mode.Env, py pyenv.Interpreter, ev mode.Events, args ...string) error {
	if len(args) == 0 {
		return nil
	}
	full := []string{"-s", "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
		"--target", filepath.Join(env.Prefix, siteDir), "--upgrade"}
	if env.Pip.NoIndex {
		full = append(full, "--no-index")
	}
	if env.Pip.IndexURL != "" && !env.Pip.NoIndex {
		full = append(full, "--index-url", env.Pip.IndexURL)
	}
	for _, u := range env.Pip.ExtraIndexURL {
		full = append(full, "--extra-index-url", u)
	}
	for _, h := range env.Pip.TrustedHost {
		full = append(full, "--trusted-host", h)
	}
	for _, l := range env.Pip.FindLinks {
		full = append(full, "--find-links", inWorkdir(env, l))
	}
	full = append(full, args...)
	return pyenv.RunTool(ctx, ev, env.Workdir, baseEnv(), "pip install "+strings.Join(args, " "), py.Path, full...)
}

// tidy fixes up the folder after pip --target:
//   - pip writes console scripts for the base interpreter into
//     site-packages/bin; they are removed and written again into PREFIX/bin;
//   - on upgrade pip replaces a package's folders but leaves the old
//     version's dist-info behind; the older dist-info of a project goes.
func tidy(prefix string) error {
	site := filepath.Join(prefix, siteDir)
	if err := os.RemoveAll(filepath.Join(site, "bin")); err != nil {
		return mode.Errorf(mode.ErrInternal, "tidy: %v", err)
	}
	byName := map[string][]pyenv.Dist{}
	for _, d := range pyenv.ReadDists(site) {
		byName[d.Name] = append(byName[d.Name], d)
	}
	for _, ds := range byName {
		sort.Slice(ds, func(i, j int) bool { return ds[i].ModTime.After(ds[j].ModTime) })
		for _, old := range ds[1:] {
			if err := os.RemoveAll(old.Dir); err != nil {
				return mode.Errorf(mode.ErrInternal, "tidy: %v", err)
			}
		}
	}
	return writeScripts(prefix)
}

// writeScripts writes a /bin/sh trampoline into PREFIX/bin for every
// console and GUI script of every distribution. The trampoline finds
// bin/python beside its own real location, so it holds no absolute path.
func writeScripts(prefix string) error {
	for _, d := range pyenv.ReadDists(filepath.Join(prefix, siteDir)) {
		for name, target := range d.Scripts() {
			if name == "python" {
				continue // never replace the wrapper
			}
			modName, attr, _ := strings.Cut(target, ":")
			code := fmt.Sprintf("import sys, importlib, functools; sys.argv[0] = %q; "+
				"sys.exit(functools.reduce(getattr, %q.split('.'), importlib.import_module(%q))())",
				name, attr, modName)
			if attr == "" {
				code = fmt.Sprintf("import sys, runpy; sys.argv[0] = %q; runpy.run_module(%q, run_name='__main__')", name, modName)
			}
			script := "#!/bin/sh\n" +
				"# console script " + name + " of " + d.Name + ", written by swcli's target mode\n" +
				"exec \"$(dirname -- \"$(realpath -- \"$0\")\")/python\" -c " + pyenv.ShQuote(code) + " \"$@\"\n"
			if err := writeFileAtomic(filepath.Join(prefix, "bin", name), []byte(script), 0o755); err != nil {
				return mode.Errorf(mode.ErrInternal, "write script %s: %v", name, err)
			}
		}
	}
	return nil
}

// ---------------------------------------------------------------- lock

// Lock lists every distribution in PREFIX/site-packages (read from its
// dist-info, no Python needed) and writes a requirements-lock.txt. With
// Check it runs pip check first.
func (m *Mode) Lock(ctx context.Context, req mode.LockRequest, ev mode.Events) (mode.Lock, error) {
	env := req.Env
	facts, err := envFacts(ctx, env.Prefix)
	if err != nil {
		return mode.Lock{}, err
	}
	if req.Check {
		err := pyenv.RunTool(ctx, ev, env.Prefix, baseEnv(), "pip check", filepath.Join(env.Prefix, "bin", "python"),
			"-m", "pip", "check", "--disable-pip-version-check")
		var me *mode.Error
		if errors.As(err, &me) && ctx.Err() == nil {
			me.Code = mode.ErrConflict
		}
		if err != nil {
			return mode.Lock{}, err
		}
	}
	lock := mode.Lock{Python: facts.Python, Packages: []mode.LockedPackage{}}
	var txt strings.Builder
	txt.WriteString("# " + lockTxt + " written by swcli's target mode for Python " + facts.Python + "\n")
	for _, d := range pyenv.ReadDists(filepath.Join(env.Prefix, siteDir)) {
		p := d.Locked(env.Workdir)
		lock.Packages = append(lock.Packages, p)
		txt.WriteString(requirement(p) + "\n")
	}
	lock.Files = []mode.LockFile{{Name: lockTxt, Content: []byte(txt.String())}}
	return lock, nil
}

// requirement is the pip requirement line that installs p exactly.
func requirement(p mode.LockedPackage) string {
	switch {
	case p.Source == "":
		return p.Name + "==" + p.Version
	case strings.Contains(p.Source, "://"):
		return p.Name + " @ " + p.Source
	}
	return p.Source // a workdir-relative wheel
}

// ---------------------------------------------------------------- restore

// Restore creates the folder and installs exactly the lock with
// `pip install --no-deps`, from the wheel folders first, then the indexes.
// On failure the prefix is removed.
func (m *Mode) Restore(ctx context.Context, req mode.RestoreRequest, ev mode.Events) (err error) {
	env := req.Env
	if env.Python.Version == "" && env.Python.Path == "" && req.Lock.Python != "" {
		env.Python.Version = pyenv.MajorMinor(req.Lock.Python)
	}
	py, err := create(ctx, env, true, ev)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(env.Prefix)
		}
	}()
	hashed := len(req.Lock.Packages) > 0
	for _, p := range req.Lock.Packages {
		hashed = hashed && len(p.Hashes) > 0
	}
	var lines []string
	for _, p := range req.Lock.Packages {
		line := p.Name + "==" + p.Version
		if p.Source != "" {
			line = restoreSource(env, req.WheelDirs, p)
		}
		if hashed {
			for _, h := range p.Hashes {
				line += " --hash=" + h
			}
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return nil
	}
	tmp, err := os.MkdirTemp("", "swcli-target-restore-")
	if err != nil {
		return mode.Errorf(mode.ErrInternal, "restore: %v", err)
	}
	defer os.RemoveAll(tmp)
	reqFile := filepath.Join(tmp, lockTxt)
	if err := os.WriteFile(reqFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return mode.Errorf(mode.ErrInternal, "restore: %v", err)
	}
	args := []string{"--no-deps"}
	for _, d := range req.WheelDirs {
		args = append(args, "--find-links", inWorkdir(env, d))
	}
	if err := pipInstall(ctx, env, py, ev, append(args, "-r", reqFile)...); err != nil {
		return err
	}
	return tidy(env.Prefix)
}

// restoreSource is the requirement for a package locked with a source: a
// URL as it is, a workdir-relative wheel from the workdir or, by file name,
// from a wheel folder.
func restoreSource(env mode.Env, wheelDirs []string, p mode.LockedPackage) string {
	if strings.Contains(p.Source, "://") {
		return p.Name + " @ " + p.Source
	}
	if local := inWorkdir(env, filepath.FromSlash(p.Source)); fileExists(local) {
		return local
	}
	for _, d := range wheelDirs {
		if f := filepath.Join(inWorkdir(env, d), path.Base(p.Source)); fileExists(f) {
			return f
		}
	}
	return p.Name + "==" + p.Version
}

// ---------------------------------------------------------------- files

// Files lists each distribution's files from its RECORD (relative to the
// prefix) plus its console scripts in bin/. bin/python and __pycache__
// folders are excluded: Create and Relocate (and Python) make them again.
func (m *Mode) Files(ctx context.Context, req mode.FilesRequest) (mode.FilesReport, error) {
	prefix := filepath.Clean(req.Env.Prefix)
	facts, err := envFacts(ctx, prefix)
	if err != nil {
		return mode.FilesReport{}, err
	}
	rep := mode.FilesReport{Python: facts.Python, Platform: facts.Platform, ABI: facts.ABI,
		Packages: []mode.PackageFiles{}, Exclude: []string{"bin/python", "__pycache__/"}}
	for _, d := range pyenv.ReadDists(filepath.Join(prefix, siteDir)) {
		pf := mode.PackageFiles{Name: d.Name, Version: d.Version, Installer: mode.InstallerPip, Files: []string{}}
		seen := map[string]bool{}
		add := func(rel string) {
			if st, err := os.Lstat(filepath.Join(prefix, filepath.FromSlash(rel))); err == nil && !st.IsDir() && !seen[rel] {
				seen[rel] = true
				pf.Files = append(pf.Files, rel)
			}
		}
		for _, f := range d.Record() {
			rel := path.Clean(siteDir + "/" + f)
			// pip --target records console scripts as ../../bin/x; those and
			// anything else outside site-packages are not ours.
			if strings.HasPrefix(rel, siteDir+"/") && !strings.Contains(rel, "/__pycache__/") {
				add(rel)
			}
		}
		add(siteDir + "/" + filepath.Base(d.Dir) + "/RECORD")
		for name := range d.Scripts() {
			add("bin/" + name)
		}
		sort.Strings(pf.Files)
		rep.Packages = append(rep.Packages, pf)
	}
	return rep, nil
}

// ---------------------------------------------------------------- relocate

// Relocate fixes a folder unpacked at Env.Prefix: placeholders (and
// OldPrefix) in TextFiles become the new paths, and bin/python is written
// again for this machine's interpreter. Console scripts hold no path.
// Binary files that embed the old prefix are not patched (ErrUnsupported).
func (m *Mode) Relocate(ctx context.Context, req mode.RelocateRequest, ev mode.Events) error {
	prefix := filepath.Clean(req.Env.Prefix)
	if !filepath.IsAbs(prefix) {
		return mode.Errorf(mode.ErrInvalid, "prefix %q must be an absolute path", req.Env.Prefix)
	}
	if len(req.BinaryFiles) > 0 {
		return mode.Errorf(mode.ErrUnsupported, "the target mode cannot patch binary files that embed the old prefix (%s ...); restore with --from-lock", req.BinaryFiles[0])
	}
	pairs := []string{mode.PrefixPlaceholder, prefix}
	if req.Env.Workdir != "" {
		pairs = append(pairs, mode.WorkdirPlaceholder, filepath.Clean(req.Env.Workdir))
	}
	if req.OldPrefix != "" && !strings.Contains(prefix, req.OldPrefix) {
		pairs = append(pairs, filepath.Clean(req.OldPrefix), prefix)
	}
	repl := strings.NewReplacer(pairs...)
	for i, rel := range req.TextFiles {
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			return mode.Errorf(mode.ErrInvalid, "relocate: bad path %q: want a path relative to the prefix", rel)
		}
		p := filepath.Join(prefix, filepath.FromSlash(rel))
		st, err := os.Lstat(p)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(p)
		if err == nil {
			err = writeFileAtomic(p, []byte(repl.Replace(string(b))), st.Mode().Perm())
		}
		if err != nil {
			return mode.Errorf(mode.ErrInternal, "relocate %s: %v", rel, err)
		}
		ev.Emit(mode.Event{Stage: "relocate", Current: int64(i + 1), Total: int64(len(req.TextFiles))})
	}
	py, err := pyenv.Find(ctx, req.Env.Python)
	if err != nil {
		return err
	}
	if err := writeWrapper(prefix, py); err != nil {
		return mode.Errorf(mode.ErrInternal, "relocate: %v", err)
	}
	return tidy(prefix)
}

// ---------------------------------------------------------------- activation

// Activation puts PREFIX/bin first on PATH (so `python` is the wrapper) and
// unsets PYTHONHOME, as shell code for bash, zsh, sh or fish.
func (m *Mode) Activation(ctx context.Context, req mode.ActivationRequest) (mode.Activation, error) {
	prefix := filepath.Clean(req.Env.Prefix)
	if !filepath.IsAbs(prefix) {
		return mode.Activation{}, mode.Errorf(mode.ErrInvalid, "prefix %q must be an absolute path", req.Env.Prefix)
	}
	name := req.Name
	if name == "" {
		name = filepath.Base(prefix)
	}
	bin := filepath.Join(prefix, "bin")
	act := mode.Activation{
		Vars:  []mode.EnvVar{{Name: "PATH", Value: bin + ":${PATH}"}},
		Unset: []string{"PYTHONHOME"},
	}
	script, err := pyenv.ActivationScript(req.Shell, act.Vars, act.Unset, nil, "("+name+") ")
	if err != nil {
		return mode.Activation{}, err
	}
	act.Script = script
	return act, nil
}

// envPython is the base interpreter of the environment at env.Prefix: its
// bin/python wrapper execs it, so its sys.executable names it.
func envPython(ctx context.Context, env mode.Env) (pyenv.Interpreter, error) {
	wrapper := filepath.Join(env.Prefix, "bin", "python")
	if !fileExists(wrapper) {
		return pyenv.Interpreter{}, mode.Errorf(mode.ErrInvalid, "%s is not a target environment: no bin/python (run create first)", env.Prefix)
	}
	py, err := pyenv.Probe(ctx, wrapper)
	if err != nil {
		return pyenv.Interpreter{}, mode.Errorf(mode.ErrNoTool, "%s does not run: %v", wrapper, err)
	}
	return py, nil
}

// facts are what only the environment's own Python can say.
type facts struct{ Python, Platform, ABI string }

func envFacts(ctx context.Context, prefix string) (facts, error) {
	var f facts
	py := filepath.Join(prefix, "bin", "python")
	if !fileExists(py) {
		return f, mode.Errorf(mode.ErrInvalid, "%s is not a target environment: no bin/python", prefix)
	}
	out, err := exec.CommandContext(ctx, py, "-c", `import json, sys, sysconfig
print(json.dumps({"Python": "%d.%d.%d" % sys.version_info[:3], "Platform": sysconfig.get_platform(),
    "ABI": "cp%d%d" % sys.version_info[:2] if sys.implementation.name == "cpython" else ""}))`).Output()
	if err == nil {
		err = json.Unmarshal(out, &f)
	}
	if err != nil {
		return f, mode.Errorf(mode.ErrToolFailed, "%s does not run: %v", py, err)
	}
	return f, nil
}

// ---------------------------------------------------------------- processes

// baseEnv is this process's environment without what would make a Python
// run elsewhere or install elsewhere.
func baseEnv() []string {
	return pyenv.BaseEnv("PYTHONPATH", "PIP_TARGET", "PIP_PREFIX", "PIP_USER", "VIRTUAL_ENV")
}

// activatedEnv is baseEnv with PREFIX/bin first on PATH.
func activatedEnv(prefix string) []string {
	var out []string
	path := ""
	for _, kv := range baseEnv() {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = ":" + v
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PATH="+filepath.Join(prefix, "bin")+path)
}

// ---------------------------------------------------------------- files

func inWorkdir(env mode.Env, p string) string {
	if p == "" || filepath.IsAbs(p) || strings.Contains(p, "://") {
		return p
	}
	return filepath.Join(env.Workdir, p)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func writeFileAtomic(p string, data []byte, perm fs.FileMode) error {
	tmp := p + ".swcli-tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	if err := os.Chmod(tmp, perm); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// copyTree copies a file or a folder; a file copied onto a folder lands in it.
func copyTree(src, dest string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		if d, err := os.Stat(dest); err == nil && d.IsDir() {
			dest = filepath.Join(dest, filepath.Base(src))
		}
		return copyFile(src, dest, st.Mode().Perm())
	}
	return filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dest, rel), 0o755)
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			return err
		}
		return copyFile(p, filepath.Join(dest, rel), info.Mode().Perm())
	})
}

func copyFile(src, dest string, perm fs.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dest, b, perm)
}
