package workflow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/spec"
	"github.com/swcli/swcli/internal/atomicfile"
)

// CreateOptions are the inputs of `runtime create`.
type CreateOptions struct {
	Workdir string
	// Name, Mode and Python come from flags. When Name is empty the workdir's
	// existing runtime.yaml is used.
	Name   string
	Mode   string
	Python string // "X.Y" or a path to an interpreter
	Force  bool
}

// CreateResult says what create made.
type CreateResult struct {
	Name    string `json:"name"`
	Mode    string `json:"mode"`
	Python  string `json:"python"`
	Workdir string `json:"workdir"`
	Prefix  string `json:"prefix"`
	Spec    string `json:"runtime_yaml"`
}

func absWorkdir(dir string) (string, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err == nil && !st.IsDir() {
		return "", usagef("workdir %s is a file; give a folder (it may not exist yet)", dir)
	}
	return abs, nil
}

// interpreterVersion asks an interpreter for its X.Y.
func interpreterVersion(ctx context.Context, path string) (string, error) {
	out, err := exec.CommandContext(ctx, path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])").Output()
	if err != nil {
		return "", usagef("--python %s: cannot run it as a Python interpreter (%v)", path, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Create writes runtime.yaml (seed form) when a name is given, makes the
// environment at WORKDIR/.starwhale/<mode> and installs the spec's
// dependencies. It refuses to overwrite runtime.yaml or an environment
// without Force. On failure nothing is left changed: a replaced environment
// is put back and runtime.yaml is only written once the environment is ready.
func (s *Service) Create(ctx context.Context, o CreateOptions) (*CreateResult, error) {
	wd, err := absWorkdir(o.Workdir)
	if err != nil {
		return nil, err
	}
	specPath := filepath.Join(wd, spec.FileName)
	_, statErr := os.Stat(specPath)
	specExists := statErr == nil

	var sp *spec.Spec
	var seed []byte
	py := mode.Python{}
	if o.Name != "" {
		if err := spec.ValidateName(o.Name); err != nil {
			return nil, usagef("--name: %v", err)
		}
		m := o.Mode
		if m == "" {
			m = spec.DefaultMode
		}
		// Any well-formed name: whether a plugin serves it is checked below
		// (plugin.NotFoundError: "no mode plugin named ...; known: ...").
		if !spec.ValidMode(m) {
			return nil, usagef("--mode %q is not a mode; %s", m, spec.ModeRule)
		}
		ver := o.Python
		if ver == "" {
			ver = spec.DefaultPython
		}
		if strings.ContainsRune(ver, os.PathSeparator) {
			py.Path, err = filepath.Abs(ver)
			if err != nil {
				return nil, err
			}
			if ver, err = interpreterVersion(ctx, py.Path); err != nil {
				return nil, err
			}
		}
		if err := spec.ValidatePython(ver); err != nil {
			return nil, usagef("--python: %v", err)
		}
		if specExists && !o.Force {
			return nil, usagef("%s already exists; pass --force to overwrite it, or drop --name to create the environment it describes", specPath)
		}
		seed = spec.Seed(o.Name, m, ver, s.Version)
		if sp, err = spec.Parse(seed, specPath); err != nil {
			return nil, err
		}
	} else {
		if !specExists {
			return nil, usagef("%s has no %s: pass --name (and --mode, --python) to make one", displayDir(o.Workdir), spec.FileName)
		}
		if sp, err = spec.Load(specPath); err != nil {
			return nil, err
		}
		if o.Python != "" {
			return nil, usagef("--python needs --name (the Python of an existing %s is its python_version)", spec.FileName)
		}
	}
	py.Version = sp.Python
	// Folders this create makes, removed again (when still empty) on failure
	// so that a failed create leaves the workdir as it was.
	var made []string
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); !errors.Is(err, fs.ErrNotExist) || d == filepath.Dir(d) {
			break
		}
		made = append([]string{d}, made...)
	}
	for _, d := range []string{filepath.Join(wd, DotDir), filepath.Dir(StatePathOf(wd, sp.Mode))} {
		if _, err := os.Lstat(d); errors.Is(err, fs.ErrNotExist) {
			made = append(made, d)
		}
	}
	created := false
	defer func() {
		for i := len(made) - 1; i >= 0 && !created; i-- {
			_ = os.Remove(made[i]) // only if empty
		}
	}()
	if err := os.MkdirAll(wd, 0o755); err != nil {
		return nil, err
	}
	// A new runtime.yaml names requirements.txt; when the workdir has none,
	// create writes an empty one (with runtime.yaml, at the end) for the user
	// to fill, as Starwhale does.
	writeReq := ""
	if seed != nil {
		if _, err := os.Stat(filepath.Join(wd, spec.DefaultPipReq)); errors.Is(err, fs.ErrNotExist) {
			writeReq = filepath.Join(wd, spec.DefaultPipReq)
			sp.Dependencies = nil
		}
	}
	rs := sp
	if writeReq == "" {
		if rs, err = sp.Resolve(wd); err != nil {
			return nil, err
		}
	}
	prefix := PrefixOf(wd, sp.Mode)
	// A half-made environment (an interrupted create) is made again without
	// --force; a ready one is only replaced with --force.
	if old, _ := ReadState(StatePathOf(wd, sp.Mode)); nonEmpty(prefix) && !o.Force && (old == nil || old.State == StateReady) {
		return nil, usagef("an environment already exists at %s; pass --force to make it again", prefix)
	}
	m, err := s.Modes.Mode(ctx, sp.Mode)
	if err != nil {
		return nil, err
	}
	env := s.workdirModeEnv(wd, prefix, rs, py)

	// The old environment goes aside, and comes back if this fails;
	// runtime.yaml is written only once the new one works.
	we := envOf(wd, sp.Mode)
	st := &State{State: StateCreating, Mode: sp.Mode, Name: sp.Name, Python: sp.Python, Prefix: prefix}
	rep, err := we.replace(st)
	if err != nil {
		return nil, err
	}
	if err = s.makeEnv(ctx, m, env, rs.Dependencies); err == nil {
		err = s.cacheActivation(ctx, m, env, sp.Name, st)
	}
	if err == nil && writeReq != "" {
		err = atomicfile.Write(writeReq, nil, 0o644)
	}
	if err == nil && seed != nil {
		err = atomicfile.Write(specPath, seed, 0o644)
	}
	if err == nil {
		// The digest of what was installed; an error here fails the create
		// (a build would fail on it later anyway).
		var final *spec.Spec
		if final, err = sp.Resolve(wd); err == nil {
			st.DepsDigest, err = depsDigest(wd, final)
		}
	}
	if err == nil {
		err = we.markReady(st)
	}
	rep.done(err)
	if err != nil {
		return nil, err
	}
	created = true
	return &CreateResult{Name: sp.Name, Mode: sp.Mode, Python: sp.Python, Workdir: wd, Prefix: prefix, Spec: specPath}, nil
}

func (s *Service) makeEnv(ctx context.Context, m mode.Mode, env mode.Env, deps []mode.Dependency) error {
	s.stage("create environment", 0, 0)
	if err := m.Create(ctx, mode.CreateRequest{Env: env}, s.Events); err != nil {
		return err
	}
	if len(deps) == 0 {
		return nil
	}
	s.stage("install dependencies", 0, int64(len(deps)))
	return m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: deps}, s.Events)
}

// workdirModeEnv is EnvFor for the environment a workdir owns (made,
// built or locked there): with the host's caches and the environment's
// state folder.
func (s *Service) workdirModeEnv(wd, prefix string, rs *spec.Spec, py mode.Python) mode.Env {
	env := s.withCaches(EnvFor(wd, prefix, rs, py))
	env.StateDir = ModeStateDirOf(wd, rs.Mode)
	return env
}

// EnvFor builds the mode.Env of a spec.
func EnvFor(workdir, prefix string, sp *spec.Spec, py mode.Python) mode.Env {
	if py.Version == "" {
		py.Version = sp.Python
	}
	return mode.Env{Workdir: workdir, Prefix: prefix, Python: py, Pip: sp.Pip, Conda: sp.Conda}
}

func nonEmpty(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist) && err != nil && !isNotDir(err)
	}
	return len(ents) > 0
}

func isNotDir(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "not a directory")
}

func displayDir(d string) string {
	if d == "" {
		return "."
	}
	return d
}

func randSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
