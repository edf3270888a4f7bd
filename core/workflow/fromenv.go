package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/swcli/swcli/core/spec"
	"github.com/swcli/swcli/internal/atomicfile"
	"github.com/swcli/swcli/sdk/pyenv"
)

// EnvSource names an environment that already exists, to build or lock as
// it is (Starwhale's -v/--venv, -c/--conda, -cp/--conda-prefix, -s/--shell).
// At most one field is set.
type EnvSource struct {
	Venv        string // a venv prefix
	Conda       string // a conda environment name
	CondaPrefix string // a conda environment prefix
	Shell       bool   // the environment active in this shell
}

// Given says whether any source is named.
func (e EnvSource) Given() bool {
	return e.Venv != "" || e.Conda != "" || e.CondaPrefix != "" || e.Shell
}

// existingEnv is a resolved EnvSource.
type existingEnv struct {
	mode, prefix, python string
}

// resolve checks the source and finds its mode, prefix and Python X.Y.
// workdir is the WORKDIR also given, which conflicts with a source.
func (e EnvSource) resolve(workdir string) (*existingEnv, error) {
	var given []string
	for _, g := range []struct {
		set  bool
		flag string
	}{{e.Venv != "", "-v/--venv"}, {e.Conda != "", "-c/--conda"}, {e.CondaPrefix != "", "-cp/--conda-prefix"}, {e.Shell, "-s/--shell"}} {
		if g.set {
			given = append(given, g.flag)
		}
	}
	if len(given) > 1 {
		return nil, usagef("%s conflict: give one environment source (-v PREFIX, -c NAME, -cp PREFIX or -s)", strings.Join(given, " and "))
	}
	if workdir != "" {
		return nil, usagef("WORKDIR %s and %s conflict: build a workdir or an existing environment, not both", workdir, given[0])
	}
	var x existingEnv
	switch {
	case e.Venv != "":
		x.mode, x.prefix = spec.ModeVenv, e.Venv
		if !isVenv(x.prefix) {
			return nil, usagef("--venv %s is not a venv (no pyvenv.cfg and bin/python); give the prefix of a venv (python -m venv PREFIX makes one)", e.Venv)
		}
	case e.CondaPrefix != "":
		x.mode, x.prefix = spec.ModeConda, e.CondaPrefix
		if !isCondaEnv(x.prefix) {
			return nil, usagef("--conda-prefix %s is not a conda environment (no conda-meta folder); give the prefix conda env list shows", e.CondaPrefix)
		}
	case e.Conda != "":
		x.mode = spec.ModeConda
		dirs := condaEnvDirs()
		for _, d := range dirs {
			if p := filepath.Join(d, e.Conda); isCondaEnv(p) {
				x.prefix = p
				break
			}
		}
		if e.Conda == "base" {
			if root := condaRoot(); root != "" && isCondaEnv(root) {
				x.prefix = root
			}
		}
		if x.prefix == "" {
			return nil, usagef("--conda %q: no conda environment of that name (looked in %s); give a name conda env list shows, or -cp PREFIX", e.Conda, strings.Join(dirs, ", "))
		}
	case e.Shell:
		if v := os.Getenv("VIRTUAL_ENV"); v != "" && isVenv(v) {
			x.mode, x.prefix = spec.ModeVenv, v
		} else if c := os.Getenv("CONDA_PREFIX"); c != "" && isCondaEnv(c) {
			x.mode, x.prefix = spec.ModeConda, c
		} else {
			return nil, usagef("-s/--shell: no environment is active in this shell (neither VIRTUAL_ENV nor CONDA_PREFIX names one); activate one, or give -v PREFIX or -c NAME")
		}
	}
	abs, err := filepath.Abs(x.prefix)
	if err != nil {
		return nil, err
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return nil, err
	}
	x.prefix = abs
	if x.python, err = pythonOfPrefix(abs); err != nil {
		return nil, err
	}
	return &x, nil
}

func isVenv(p string) bool {
	return fileExists(filepath.Join(p, "pyvenv.cfg")) && fileExists(filepath.Join(p, "bin", "python"))
}

func isCondaEnv(p string) bool {
	st, err := os.Stat(filepath.Join(p, "conda-meta"))
	return err == nil && st.IsDir()
}

// condaRoot is the root prefix of the conda-family tool the conda mode
// would run (sdk/pyenv.LookupConda).
func condaRoot() string {
	exe := pyenv.LookupConda()
	if p, err := exec.LookPath(exe); err == nil {
		exe = p
	}
	if exe == "" {
		return ""
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	return filepath.Dir(filepath.Dir(exe))
}

// condaEnvDirs are where conda keeps named environments: CONDA_ENVS_PATH,
// the root's envs, then the user's.
func condaEnvDirs() []string {
	var out []string
	if p := os.Getenv("CONDA_ENVS_PATH"); p != "" {
		out = append(out, filepath.SplitList(p)...)
	}
	if r := condaRoot(); r != "" {
		out = append(out, filepath.Join(r, "envs"))
	}
	home, _ := os.UserHomeDir()
	return append(out, filepath.Join(home, ".conda", "envs"))
}

// pythonOfPrefix is the X.Y of the Python an environment holds, from its
// lib/pythonX.Y folder (no interpreter is started).
func pythonOfPrefix(prefix string) (string, error) {
	libs, _ := filepath.Glob(filepath.Join(prefix, "lib", "python3.*"))
	var vs []string
	for _, l := range libs {
		v := strings.TrimPrefix(filepath.Base(l), "python")
		if st, err := os.Stat(l); err == nil && st.IsDir() && spec.ValidatePython(v) == nil {
			vs = append(vs, v)
		}
	}
	if len(vs) != 1 {
		return "", usagef("environment %s has %d lib/python3.X folders, want one: it is not a Python environment swcli can read", prefix, len(vs))
	}
	return vs[0], nil
}

// fromEnvWorkdir is the workdir of builds of an existing environment: the
// generated runtime.yaml, lock files and caches, one folder per prefix under
// the storage root (the environment itself is never written).
func (s *Service) fromEnvWorkdir(x *existingEnv, name string) (string, error) {
	h := sha256.Sum256([]byte(x.prefix))
	wd := filepath.Join(s.StorageRoot, "fromenv", hex.EncodeToString(h[:8]))
	data, err := spec.ForEnv(name, x.mode, x.python)
	if err != nil {
		return "", usagef("--name: %v", err)
	}
	if err := atomicfile.Write(filepath.Join(wd, spec.FileName), data, 0o644); err != nil {
		return "", err
	}
	return wd, nil
}

// checkFromEnv is checkBuild for an existing environment: the name comes
// from --name or the prefix's folder.
func (s *Service) checkFromEnv(o BuildOptions) (*buildInput, error) {
	x, err := o.From.resolve(o.Workdir)
	if err != nil {
		return nil, err
	}
	if o.SpecFile != "" {
		return nil, usagef("-f %s: an existing environment is built without a runtime.yaml", o.SpecFile)
	}
	if o.DisableEnvLock {
		return nil, usagef("-del/--disable-env-lock: %s is built as it is and names no requirements to take as its lock; drop -del, or build a workdir whose runtime.yaml names them", x.prefix)
	}
	name := o.Overrides.Name
	if name == "" {
		if name = spec.NameFromFolder(filepath.Base(x.prefix)); name == "" {
			return nil, usagef("the folder name of %s makes no runtime name; give -n NAME", x.prefix)
		}
	}
	if err := (BuildOptions{Tags: o.Tags, Project: o.Project}).checkTagsAndProject(); err != nil {
		return nil, err
	}
	wd, err := s.fromEnvWorkdir(x, name)
	if err != nil {
		return nil, err
	}
	o.Workdir, o.From = wd, EnvSource{}
	in, err := checkBuild(o)
	if err != nil {
		return nil, err
	}
	in.prefix = x.prefix
	return in, nil
}
