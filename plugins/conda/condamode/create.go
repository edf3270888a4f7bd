package condamode

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/swcli/swcli/plugins/internal/fsutil"

	"gopkg.in/yaml.v3"

	"github.com/swcli/swcli/core/mode"
)

var pythonXY = regexp.MustCompile(`^3\.[0-9]+$`)

// checkEnv validates the parts of an Env every call needs.
func checkEnv(env mode.Env) error {
	if env.Prefix == "" || !filepath.IsAbs(env.Prefix) {
		return mode.Errorf(mode.ErrInvalid, "prefix %q must be an absolute path", env.Prefix)
	}
	return nil
}

// condaEnv is the environment of a conda call: CONDARC (and MAMBARC, read by
// micromamba) pointing at a file holding Env.Conda.Condarc, and pip's
// configuration for the pip: section of conda env files. The returned cleanup
// removes the temporary condarc.
func condaEnv(env mode.Env) ([]string, func(), error) {
	vars := pipEnvVars(env.Pip)
	if env.Conda.Condarc == "" {
		return vars, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "swcli-condarc-")
	if err != nil {
		return nil, nil, mode.Errorf(mode.ErrInternal, "condarc: %v", err)
	}
	p := filepath.Join(dir, "condarc.yaml")
	if err := os.WriteFile(p, []byte(env.Conda.Condarc), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, nil, mode.Errorf(mode.ErrInternal, "condarc: %v", err)
	}
	vars = append(vars, "CONDARC="+p, "MAMBARC="+p)
	return vars, func() { os.RemoveAll(dir) }, nil
}

// pipEnvVars are pip's environment variables for Env.Pip, used where conda
// runs pip itself (the pip: section of an env file).
func pipEnvVars(p mode.PipConfig) []string {
	v := []string{"PIP_DISABLE_PIP_VERSION_CHECK=1"}
	if p.IndexURL != "" {
		v = append(v, "PIP_INDEX_URL="+p.IndexURL)
	}
	if len(p.ExtraIndexURL) > 0 {
		v = append(v, "PIP_EXTRA_INDEX_URL="+strings.Join(p.ExtraIndexURL, " "))
	}
	if len(p.TrustedHost) > 0 {
		v = append(v, "PIP_TRUSTED_HOST="+strings.Join(p.TrustedHost, " "))
	}
	if p.NoIndex {
		v = append(v, "PIP_NO_INDEX=1")
	}
	if len(p.FindLinks) > 0 {
		v = append(v, "PIP_FIND_LINKS="+strings.Join(p.FindLinks, " "))
	}
	return v
}

// prepareEmptyPrefix checks that prefix does not exist or is empty and
// returns a function that removes what a failed create left there.
func prepareEmptyPrefix(prefix string) (func(), error) {
	entries, err := os.ReadDir(prefix)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return func() { os.RemoveAll(prefix) }, nil
	case err != nil:
		return nil, mode.Errorf(mode.ErrInvalid, "prefix %s: %v", prefix, err)
	case len(entries) > 0:
		return nil, mode.Errorf(mode.ErrInvalid, "prefix %s is not empty; conda mode creates environments only in a new or empty folder", prefix)
	}
	return func() {
		es, _ := os.ReadDir(prefix)
		for _, e := range es {
			os.RemoveAll(filepath.Join(prefix, e.Name()))
		}
	}, nil
}

// newEnv is what Create and Restore hold while conda makes a new
// environment at an empty prefix: the tool, the prefix's undo (cleanup,
// from prepareEmptyPrefix) and conda's environment (vars, whose done
// removes the condarc written for them).
type newEnv struct {
	tool    *tool
	vars    []string
	cleanup func()
	done    func()
}

// startNewEnv finds the tool, checks that env.Prefix is new or empty and
// writes conda's environment; the caller defers done.
func (m *Mode) startNewEnv(ctx context.Context, env mode.Env) (*newEnv, error) {
	t, err := m.findTool(ctx)
	if err != nil {
		return nil, err
	}
	cleanup, err := prepareEmptyPrefix(env.Prefix)
	if err != nil {
		return nil, err
	}
	vars, done, err := condaEnv(env)
	if err != nil {
		return nil, err
	}
	return &newEnv{tool: t, vars: vars, cleanup: cleanup, done: done}, nil
}

// create runs a conda create (argv) for stage, in the workdir, reading its
// --json answer; a failed one is undone (cleanup).
func (n *newEnv) create(ctx context.Context, ev mode.Events, env mode.Env, stage string, argv []string) (result, error) {
	res, err := run(ctx, ev, argv, runOpts{env: n.vars, stage: stage, jsonOut: true, dir: workdirOr(env)})
	if err != nil {
		n.cleanup()
	}
	return res, err
}

// Create makes a conda environment at Env.Prefix with python=X.Y:
//
//	conda create -y -p PREFIX [-c CH]... [--override-channels] --json python=X.Y
//
// On failure it removes the prefix and returns ErrToolFailed with conda's
// message.
func (m *Mode) Create(ctx context.Context, req mode.CreateRequest, ev mode.Events) error {
	env := req.Env
	if err := checkEnv(env); err != nil {
		return err
	}
	if !pythonXY.MatchString(env.Python.Version) {
		return mode.Errorf(mode.ErrInvalid, "python version %q: conda mode needs major.minor such as 3.9", env.Python.Version)
	}
	if env.Python.Path != "" {
		ev.Logf("warn", "python path %s is not used: conda installs python=%s itself", env.Python.Path, env.Python.Version)
	}
	n, err := m.startNewEnv(ctx, env)
	if err != nil {
		return err
	}
	defer n.done()
	ev.Emit(mode.Event{Stage: "create", Current: 0, Total: 1, Message: "python=" + env.Python.Version})
	res, err := n.create(ctx, ev, env, "create", n.tool.createArgs(env.Prefix, env.Python.Version, env.Conda.Channels))
	if err != nil {
		return pythonMissing(env.Python.Version, toolError(n.tool.name+" create failed", res, err))
	}
	if _, err := os.Stat(pythonExe(env.Prefix)); err != nil {
		n.cleanup()
		return mode.Errorf(mode.ErrToolFailed, "%s create made no %s", n.tool.name, pythonExe(env.Prefix))
	}
	ev.Emit(mode.Event{Stage: "create", Current: 1, Total: 1, Message: "python=" + env.Python.Version})
	return nil
}

// pythonMissing turns a create that failed because the channels have no
// python=X.Y into ErrNoTool (a needed tool, python X.Y, is missing), keeping
// conda's message.
func pythonMissing(xy string, err error) error {
	me, ok := err.(*mode.Error)
	if !ok || me.Code != mode.ErrToolFailed {
		return err
	}
	text := me.Message + "\n" + me.Detail
	notFound := false
	for _, s := range []string{"PackagesNotFoundError", "ResolvePackageNotFound", "does not exist", "nothing provides", "No match for"} {
		if strings.Contains(text, s) {
			notFound = true
		}
	}
	if !notFound || !regexp.MustCompile(`python[ =]+`+regexp.QuoteMeta(xy)+`\b`).MatchString(text) {
		return err
	}
	return &mode.Error{Code: mode.ErrNoTool, Message: "python " + xy + " is not available from the configured conda channels: " + me.Message, Detail: me.Detail}
}

func workdirOr(env mode.Env) string {
	if env.Workdir != "" {
		if st, err := os.Stat(env.Workdir); err == nil && st.IsDir() {
			return env.Workdir
		}
	}
	return ""
}

func pythonExe(prefix string) string { return filepath.Join(prefix, "bin", "python") }

// inWorkdir resolves a dependency path against the workdir.
func inWorkdir(env mode.Env, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(env.Workdir, p)
}

// Install installs the dependencies in order. See the package doc for the
// commands used per kind.
func (m *Mode) Install(ctx context.Context, req mode.InstallRequest, ev mode.Events) error {
	env := req.Env
	if err := checkEnv(env); err != nil {
		return err
	}
	if _, err := os.Stat(pythonExe(env.Prefix)); err != nil {
		return mode.Errorf(mode.ErrInvalid, "%s is not a conda environment made by create (no bin/python)", env.Prefix)
	}
	// Validate every dependency before running anything.
	needConda := false
	for _, d := range req.Dependencies {
		if err := checkDependency(env, d); err != nil {
			return err
		}
		if d.Kind == mode.DepConda || d.Kind == mode.DepCondaEnv {
			needConda = true
		}
	}
	var t *tool
	if needConda {
		var err error
		if t, err = m.findTool(ctx); err != nil {
			return err
		}
	}
	vars, done, err := condaEnv(env)
	if err != nil {
		return err
	}
	defer done()
	total := int64(len(req.Dependencies))
	for i, d := range req.Dependencies {
		desc := describe(d)
		ev.Emit(mode.Event{Stage: "install", Current: int64(i), Total: total, Message: desc})
		if err := m.installOne(ctx, t, env, vars, d, ev); err != nil {
			return err
		}
	}
	if needConda {
		if err := checkPython(env); err != nil {
			return err
		}
	}
	ev.Emit(mode.Event{Stage: "install", Current: total, Total: total, Message: "done"})
	return nil
}

// checkPython refuses an environment whose conda dependencies replaced its
// Python with another X.Y than Env.Python.Version (conda does so silently
// for a "python=3.10" spec): swcli would report and record a Python the
// environment does not have.
func checkPython(env mode.Env) error {
	if env.Python.Version == "" {
		return nil
	}
	recs, err := condaRecords(env.Prefix)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Name != "python" {
			continue
		}
		if xy := majorMinor(r.Version); xy != env.Python.Version {
			return mode.Errorf(mode.ErrInvalid,
				"the conda dependencies installed Python %s, but environment.python is %q: set environment.python to %q, or pin python=%s in the conda dependencies",
				r.Version, env.Python.Version, xy, env.Python.Version)
		}
	}
	return nil
}

// majorMinor is "3.10" of "3.10.13".
func majorMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

func describe(d mode.Dependency) string {
	switch d.Kind {
	case mode.DepPipReq, mode.DepCondaEnv:
		return d.Kind + " " + d.Path
	case mode.DepFile:
		return "file " + d.Src + " -> " + d.Dest
	case mode.DepCommand:
		return "command " + d.Command
	}
	return d.Kind + " " + strings.Join(d.Packages, " ")
}

func checkDependency(env mode.Env, d mode.Dependency) error {
	switch d.Kind {
	case mode.DepConda, mode.DepPip:
		if len(d.Packages) == 0 {
			return mode.Errorf(mode.ErrInvalid, "%s dependency lists no packages", d.Kind)
		}
	case mode.DepWheel:
		if len(d.Packages) == 0 {
			return mode.Errorf(mode.ErrInvalid, "wheel dependency lists no wheels")
		}
		for _, w := range d.Packages {
			if _, err := os.Stat(inWorkdir(env, w)); err != nil {
				return mode.Errorf(mode.ErrInvalid, "wheel %s: not found in %s", w, env.Workdir)
			}
		}
	case mode.DepPipReq:
		if _, err := os.Stat(inWorkdir(env, d.Path)); err != nil {
			return mode.Errorf(mode.ErrInvalid, "requirements file %s: not found in %s", d.Path, env.Workdir)
		}
	case mode.DepCondaEnv:
		return checkCondaEnvFile(inWorkdir(env, d.Path), d.Path)
	case mode.DepFile:
		if d.Src == "" || d.Dest == "" {
			return mode.Errorf(mode.ErrInvalid, "file dependency needs src and dest")
		}
		if _, err := os.Stat(inWorkdir(env, d.Src)); err != nil {
			return mode.Errorf(mode.ErrInvalid, "file %s: not found in %s", d.Src, env.Workdir)
		}
	case mode.DepCommand:
		if strings.TrimSpace(d.Command) == "" {
			return mode.Errorf(mode.ErrInvalid, "command dependency is empty")
		}
	default:
		return mode.Errorf(mode.ErrInvalid, "unknown dependency kind %q (allowed: pip_req, conda_env, pip, conda, wheel, file, command)", d.Kind)
	}
	return nil
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// checkCondaEnvFile checks that a conda env file is a YAML mapping whose
// dependencies, if any, are a list.
func checkCondaEnvFile(path, name string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return mode.Errorf(mode.ErrInvalid, "conda env file %s: not found", name)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := "1"
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line = m[1]
			msg = strings.TrimSpace(yamlLine.ReplaceAllString(msg, ""))
			msg = strings.TrimPrefix(msg, ": ")
		}
		// yaml.v3 reports some parser errors one line early (the 0-based line
		// of their context); the first line at which the document stops
		// parsing is what a user needs.
		if k := firstBadLine(b); k > 0 {
			line = fmt.Sprint(k)
		}
		return mode.Errorf(mode.ErrInvalid, "conda env file %s: line %s: %s", name, line, msg)
	}
	if len(doc.Content) == 0 {
		return mode.Errorf(mode.ErrInvalid, "conda env file %s: line 1: empty; a conda env file is a YAML mapping (name, channels, dependencies)", name)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return mode.Errorf(mode.ErrInvalid, "conda env file %s: line %d: a conda env file is a YAML mapping (name, channels, dependencies), not a %s", name, root.Line, kindName(root.Kind))
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if (k.Value == "dependencies" || k.Value == "channels") && v.Kind != yaml.SequenceNode && !(v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
			return mode.Errorf(mode.ErrInvalid, "conda env file %s: line %d: %s must be a list, not a %s", name, v.Line, k.Value, kindName(v.Kind))
		}
	}
	return nil
}

// firstBadLine is the smallest k such that the first k lines of b do not
// parse as YAML, or 0.
func firstBadLine(b []byte) int {
	lines := strings.SplitAfter(string(b), "\n")
	if len(lines) > 5000 {
		return 0
	}
	var n yaml.Node
	for k := 1; k <= len(lines); k++ {
		if yaml.Unmarshal([]byte(strings.Join(lines[:k], "")), &n) != nil {
			return k
		}
	}
	return 0
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

func (m *Mode) installOne(ctx context.Context, t *tool, env mode.Env, vars []string, d mode.Dependency, ev mode.Events) error {
	stage := "install " + d.Kind
	switch d.Kind {
	case mode.DepConda:
		res, err := run(ctx, ev, t.installArgs(env.Prefix, env.Conda.Channels, d.Packages),
			runOpts{env: vars, stage: stage, jsonOut: true, dir: workdirOr(env)})
		if err != nil {
			return toolError(t.name+" install "+strings.Join(d.Packages, " ")+" failed", res, err)
		}
	case mode.DepCondaEnv:
		file := inWorkdir(env, d.Path)
		res, err := run(ctx, ev, t.envUpdateArgs(env.Prefix, file),
			runOpts{env: vars, stage: stage, dir: workdirOr(env)})
		if err != nil {
			return toolError(t.name+" env update -f "+d.Path+" failed", res, err)
		}
		return recordPipSources(ctx, env, envFileFindLinks(env, file), ev)
	case mode.DepPipReq:
		return pipInstall(ctx, env, []string{"-r", inWorkdir(env, d.Path)}, ev, stage)
	case mode.DepPip:
		return pipInstall(ctx, env, d.Packages, ev, stage)
	case mode.DepWheel:
		var ws []string
		for _, w := range d.Packages {
			ws = append(ws, inWorkdir(env, w))
		}
		return pipInstall(ctx, env, ws, ev, stage)
	case mode.DepFile:
		dest := d.Dest
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(env.Prefix, dest)
		}
		if err := fsutil.CopyPath(inWorkdir(env, d.Src), dest); err != nil {
			return mode.Errorf(mode.ErrInternal, "copy %s to %s: %v", d.Src, d.Dest, err)
		}
	case mode.DepCommand:
		script := activateSh(env.Prefix) + "\n" + d.Command
		argv := []string{"/bin/sh", "-c", script}
		res, err := run(ctx, ev, argv, runOpts{env: activatedVars(env.Prefix), stage: stage, dir: workdirOr(env)})
		if err != nil {
			return toolError("command "+d.Command+" failed", res, err)
		}
	}
	return nil
}

// pipArgs are pip's flags for Env.Pip, as a venv would pass them.
func pipArgs(p mode.PipConfig) []string {
	a := []string{"--disable-pip-version-check"}
	if p.NoIndex {
		a = append(a, "--no-index")
	} else {
		if p.IndexURL != "" {
			a = append(a, "--index-url", p.IndexURL)
		}
		for _, u := range p.ExtraIndexURL {
			a = append(a, "--extra-index-url", u)
		}
	}
	for _, h := range p.TrustedHost {
		a = append(a, "--trusted-host", h)
	}
	for _, f := range p.FindLinks {
		a = append(a, "--find-links", f)
	}
	return a
}

func pipInstall(ctx context.Context, env mode.Env, args []string, ev mode.Events, stage string) error {
	argv := append([]string{pythonExe(env.Prefix), "-m", "pip", "install"}, pipArgs(env.Pip)...)
	argv = append(argv, args...)
	res, err := run(ctx, ev, argv, runOpts{stage: stage, dir: workdirOr(env), env: []string{"PIP_NO_INPUT=1"}})
	if err != nil {
		return toolError("pip install failed", res, err)
	}
	return nil
}

// activatedVars are the variables of an activated environment for commands
// the mode runs itself.
func activatedVars(prefix string) []string {
	return []string{
		"CONDA_PREFIX=" + prefix,
		"CONDA_DEFAULT_ENV=" + filepath.Base(prefix),
		"CONDA_SHLVL=1",
		"PATH=" + filepath.Join(prefix, "bin") + string(os.PathListSeparator) + os.Getenv("PATH"),
	}
}
