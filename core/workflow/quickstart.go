package workflow

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/swcli/swcli/core/spec"
	"github.com/swcli/swcli/internal/atomicfile"
	"github.com/swcli/swcli/sdk/pyenv"
)

// QuickstartModes are the modes `runtime quickstart` offers.
var QuickstartModes = []string{spec.ModeVenv, spec.ModeConda}

// QuickstartOptions are the answers of `runtime quickstart`, each asked on
// a terminal or given as its flag.
type QuickstartOptions struct {
	Name string
	Mode string // one of QuickstartModes
	// Python is X.Y: for venv one found on this machine (QuickstartPlan's
	// Pythons); conda installs its own, so any X.Y.
	Python string
	// Requirements is the requirements file runtime.yaml names (pip_req),
	// relative to the folder; written empty when it does not exist.
	Requirements string
	// Create makes the environment too, as `runtime create` does.
	Create bool
	// Force replaces the folder's runtime.yaml (and, with Create, its
	// environment).
	Force bool
}

// QuickstartResult says what quickstart wrote (and made).
type QuickstartResult struct {
	Name         string `json:"name"`
	Mode         string `json:"mode"`
	Python       string `json:"python"`
	Workdir      string `json:"workdir"`
	Spec         string `json:"runtime_yaml"`
	Requirements string `json:"requirements"`
	// RequirementsWritten is true when quickstart wrote the (empty)
	// requirements file.
	RequirementsWritten bool `json:"requirements_written"`
	// Prefix is the environment made, with Create.
	Prefix string `json:"prefix,omitempty"`
}

// QuickstartPlan checks quickstart's answers for one folder and gives their
// defaults, so that a terminal can ask again after a bad answer and a
// script gets the same checks for its flags. Every error names the flag
// that gives the answer.
type QuickstartPlan struct {
	Workdir string // absolute; it may not exist yet
	// Pythons are the interpreters found on this machine, one per X.Y,
	// oldest first (sdk/pyenv's discovery, the one the venv mode uses).
	Pythons []pyenv.Interpreter
}

// PlanQuickstart checks the folder (its runtime.yaml is only replaced with
// force) and finds this machine's Pythons.
func PlanQuickstart(ctx context.Context, folder string, force bool) (*QuickstartPlan, error) {
	wd, err := absWorkdir(folder)
	if err != nil {
		return nil, err
	}
	if p := filepath.Join(wd, spec.FileName); fileExists(p) && !force {
		return nil, usagef("%s already exists; pass --force to replace it, or choose another folder", p)
	}
	return &QuickstartPlan{Workdir: wd, Pythons: pyenv.List(ctx)}, nil
}

// DefaultName is the runtime name made of the folder's name.
func (p *QuickstartPlan) DefaultName() string { return spec.NameFromFolder(filepath.Base(p.Workdir)) }

// CheckName checks a runtime name.
func (p *QuickstartPlan) CheckName(name string) error {
	if err := spec.ValidateName(name); err != nil {
		return usagef("--name %q: %v", name, err)
	}
	return nil
}

// CheckMode checks a mode.
func (p *QuickstartPlan) CheckMode(m string) error {
	if !slices.Contains(QuickstartModes, m) {
		return usagef("--mode %q is not a mode quickstart makes; allowed: %s", m, strings.Join(QuickstartModes, ", "))
	}
	return nil
}

// DefaultPython is spec.DefaultPython when this machine has it, else its
// newest Python.
func (p *QuickstartPlan) DefaultPython() string {
	for _, it := range p.Pythons {
		if it.Version == spec.DefaultPython {
			return it.Version
		}
	}
	if len(p.Pythons) > 0 {
		return p.Pythons[len(p.Pythons)-1].Version
	}
	return spec.DefaultPython
}

// CheckPython checks a Python X.Y for a mode: a venv needs one found on
// this machine; conda installs its own.
func (p *QuickstartPlan) CheckPython(modeName, v string) error {
	if err := spec.ValidatePython(v); err != nil {
		return usagef("--python: %v", err)
	}
	if modeName == spec.ModeConda {
		return nil
	}
	for _, it := range p.Pythons {
		if it.Version == v {
			return nil
		}
	}
	return usagef("--python %s: no Python %s found on this machine (found: %s); give one of those, or install %s (e.g. `pyenv install %s`)",
		v, v, pyenv.Describe(p.Pythons), v, v)
}

// CheckRequirements checks a requirements file: a path inside the folder,
// a file if it exists.
func (p *QuickstartPlan) CheckRequirements(req string) error {
	if req == "" || !filepath.IsLocal(filepath.FromSlash(req)) {
		return usagef("--requirements %q: give a file inside the folder, relative to it (e.g. %s)", req, spec.DefaultPipReq)
	}
	if st, err := os.Stat(filepath.Join(p.Workdir, filepath.FromSlash(req))); err == nil && st.IsDir() {
		return usagef("--requirements %s is a folder in %s; give a requirements file", req, p.Workdir)
	}
	return nil
}

func (p *QuickstartPlan) check(o QuickstartOptions) error {
	for _, err := range []error{p.CheckName(o.Name), p.CheckMode(o.Mode), p.CheckRequirements(o.Requirements)} {
		if err != nil {
			return err
		}
	}
	return p.CheckPython(o.Mode, o.Python)
}

// Quickstart writes the folder's runtime.yaml (seed form) and, when
// missing, its empty requirements file; with Create it then makes the
// environment as `runtime create` does. A failed create puts back what
// quickstart wrote (the old runtime.yaml too), so it can be run again.
func (s *Service) Quickstart(ctx context.Context, p *QuickstartPlan, o QuickstartOptions) (res *QuickstartResult, err error) {
	if err := p.check(o); err != nil {
		return nil, err
	}
	specPath := filepath.Join(p.Workdir, spec.FileName)
	seed := spec.SeedWithReq(o.Name, o.Mode, o.Python, filepath.ToSlash(o.Requirements), s.Version)
	if _, err := spec.Parse(seed, specPath); err != nil {
		return nil, err
	}
	reqPath := filepath.Join(p.Workdir, filepath.FromSlash(o.Requirements))
	out := &QuickstartResult{Name: o.Name, Mode: o.Mode, Python: o.Python, Workdir: p.Workdir, Spec: specPath, Requirements: reqPath}

	// What this writes, undone (last first) when it fails.
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	// The folders the writes make, outermost first: removed innermost first.
	var made []string
	for d := filepath.Dir(reqPath); d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		made = append([]string{d}, made...)
	}
	for _, d := range made {
		undo = append(undo, func() { _ = os.Remove(d) }) // only if empty
	}
	if _, err := os.Stat(reqPath); errors.Is(err, fs.ErrNotExist) {
		if err := atomicfile.Write(reqPath, nil, 0o644); err != nil {
			return nil, err
		}
		out.RequirementsWritten = true
		undo = append(undo, func() { _ = os.Remove(reqPath) })
	}
	// A replaced runtime.yaml comes back as it was: content, mode, mtime.
	old, readErr := os.ReadFile(specPath)
	oldInfo, statErr := os.Stat(specPath)
	if err := atomicfile.Write(specPath, seed, 0o644); err != nil {
		return nil, err
	}
	undo = append(undo, func() {
		if readErr != nil || statErr != nil {
			_ = os.Remove(specPath)
			return
		}
		if atomicfile.Write(specPath, old, oldInfo.Mode().Perm()) == nil {
			_ = os.Chtimes(specPath, oldInfo.ModTime(), oldInfo.ModTime())
		}
	})
	if o.Create {
		cr, err := s.Create(ctx, CreateOptions{Workdir: p.Workdir, Force: o.Force})
		if err != nil {
			return nil, err
		}
		out.Prefix = cr.Prefix
	}
	return out, nil
}
