package pyenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/swcli/swcli/core/mode"
)

// Interpreter is a Python found on this machine.
type Interpreter struct {
	Path    string // what to run (sys.executable)
	Version string // "X.Y"
	Patch   string // "X.Y.Z"
}

const probeScript = `import sys; print("%d.%d.%d" % sys.version_info[:3]); print(sys.executable)`

// Probe runs a candidate interpreter once and reads its version. pyenv shims
// of versions that are not selected fail here and are skipped.
func Probe(ctx context.Context, path string) (Interpreter, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-c", probeScript)
	cmd.Env = BaseEnv()
	out, err := cmd.Output()
	if err != nil {
		return Interpreter{}, err
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 {
		return Interpreter{}, fmt.Errorf("unexpected output %q", out)
	}
	patch := strings.TrimSpace(lines[0])
	exe := strings.TrimSpace(lines[1])
	if exe == "" {
		exe = path
	}
	return Interpreter{Path: exe, Version: MajorMinor(patch), Patch: patch}, nil
}

// MajorMinor is "X.Y" of "X.Y.Z".
func MajorMinor(v string) string {
	p := strings.SplitN(v, ".", 3)
	if len(p) < 2 {
		return v
	}
	return p[0] + "." + p[1]
}

// pyenvCandidates returns pyenv's interpreters for xy ("" for all), newest
// patch first.
func pyenvCandidates(xy string) []string {
	root := Root()
	if root == "" {
		return nil
	}
	pat := "*"
	if xy != "" {
		pat = xy + ".*"
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "versions", pat))
	sort.Slice(dirs, func(i, j int) bool { return VersionLess(filepath.Base(dirs[j]), filepath.Base(dirs[i])) })
	var out []string
	for _, d := range dirs {
		for _, n := range []string{"python3", "python"} {
			p := filepath.Join(d, "bin", n)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// Find finds the interpreter for py: py.Path if set (checked against
// py.Version), else python3.X / pythonX.Y on PATH (pyenv shims skipped),
// else pyenv's newest X.Y.*; with neither set, python3 on PATH.
func Find(ctx context.Context, py mode.Python) (Interpreter, error) {
	if py.Path != "" {
		it, err := Probe(ctx, py.Path)
		if err != nil {
			return Interpreter{}, &mode.Error{Code: mode.ErrNoTool, Message: fmt.Sprintf("python %s does not run: %v", py.Path, err)}
		}
		if py.Version != "" && it.Version != py.Version {
			return Interpreter{}, mode.Errorf(mode.ErrInvalid, "python %s is Python %s, not %s", py.Path, it.Patch, py.Version)
		}
		return it, nil
	}
	xy := py.Version
	if xy != "" && !ValidXY(xy) {
		return Interpreter{}, mode.Errorf(mode.ErrInvalid, "bad Python version %q: want major.minor like 3.9", xy)
	}
	var cands []string
	if xy == "" {
		cands = append(cands, "python3")
	} else {
		maj, _, _ := strings.Cut(xy, ".")
		cands = append(cands, "python"+xy)
		if maj == "3" {
			cands = append(cands, "python3") // only if its X.Y matches
		}
	}
	for _, n := range cands {
		p, err := exec.LookPath(n)
		if err != nil || (xy != "" && IsShim(p)) {
			continue
		}
		if it, err := Probe(ctx, p); err == nil && (xy == "" || it.Version == xy) {
			return it, nil
		}
	}
	if xy != "" {
		for _, p := range pyenvCandidates(xy) {
			if it, err := Probe(ctx, p); err == nil && it.Version == xy {
				return it, nil
			}
		}
	}
	want := "Python 3"
	if xy != "" {
		want = "Python " + xy
	}
	return Interpreter{}, mode.Errorf(mode.ErrNoTool, "no %s found; found: %s; install %s or pass --python /path/to/python",
		want, Describe(List(ctx)), want)
}

// IsShim tells a pyenv shim (a script that runs `pyenv exec`, slow, and
// failing for versions that are not selected). The versions behind shims are
// looked up in pyenv's versions folder directly.
func IsShim(p string) bool {
	dir := filepath.Dir(p)
	if filepath.Base(dir) != "shims" {
		return false
	}
	root := Root()
	return dir == filepath.Join(root, "shims") || strings.HasPrefix(dir, root+string(filepath.Separator)) ||
		strings.Contains(dir, string(filepath.Separator)+".pyenv"+string(filepath.Separator))
}

// ValidXY reports whether s is a "major.minor" version like 3.9.
func ValidXY(s string) bool {
	a, b, ok := strings.Cut(s, ".")
	if !ok {
		return false
	}
	_, e1 := strconv.Atoi(a)
	_, e2 := strconv.Atoi(b)
	return e1 == nil && e2 == nil
}

// List lists the interpreters this machine has, one per X.Y, for
// error messages.
func List(ctx context.Context) []Interpreter {
	var cands []string
	cands = append(cands, pyenvCandidates("")...)
	for minor := 6; minor <= 20; minor++ {
		if p, err := exec.LookPath(fmt.Sprintf("python3.%d", minor)); err == nil && !IsShim(p) {
			cands = append(cands, p)
		}
	}
	if p, err := exec.LookPath("python3"); err == nil && !IsShim(p) {
		cands = append(cands, p)
	}
	found := make([]*Interpreter, len(cands))
	var wg sync.WaitGroup
	for i, c := range cands {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if it, err := Probe(ctx, c); err == nil {
				found[i] = &it
			}
		}()
	}
	wg.Wait()
	best := map[string]Interpreter{}
	for _, it := range found {
		if it == nil {
			continue
		}
		if b, ok := best[it.Version]; !ok || VersionLess(b.Patch, it.Patch) {
			best[it.Version] = *it
		}
	}
	var out []Interpreter
	for _, it := range best {
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool { return VersionLess(out[i].Version, out[j].Version) })
	return out
}

// Describe lists interpreters for an error message: "3.9 (/usr/bin/python3.9), ...".
func Describe(its []Interpreter) string {
	if len(its) == 0 {
		return "none"
	}
	var s []string
	for _, it := range its {
		s = append(s, fmt.Sprintf("%s (%s)", it.Version, it.Path))
	}
	return strings.Join(s, ", ")
}
