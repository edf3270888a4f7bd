package testpy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/swcli/swcli/sdk/pyenv"
)

// Python is one interpreter found on the machine.
type Python struct {
	// Version is "X.Y", Patch is "X.Y.Z".
	Version string
	Patch   string
	// Path is the interpreter's real executable (sys.executable), never a
	// pyenv shim.
	Path string
}

func (p Python) String() string { return p.Patch + " (" + p.Path + ")" }

var (
	findOnce sync.Once
	found    []Python
)

// FindPythons returns the Python 3 interpreters on this machine, one per
// X.Y (the newest patch wins), sorted by version. It looks at pyenv versions
// under $PYENV_ROOT/versions (default ~/.pyenv/versions) and at python3 and
// python3.X on PATH. Every candidate is run once to read its exact version, so
// broken ones and pyenv shims of versions that are not selected are left out.
// The result is computed once per process.
func FindPythons() []Python {
	findOnce.Do(func() { found = findPythons() })
	return append([]Python(nil), found...)
}

// FindPython returns the interpreter for "X.Y" if there is one.
func FindPython(xy string) (Python, bool) {
	for _, p := range FindPythons() {
		if p.Version == xy {
			return p, true
		}
	}
	return Python{}, false
}

// RequirePython returns the interpreter for "X.Y" or skips the test, naming
// the versions it found.
func RequirePython(t testing.TB, xy string) Python {
	t.Helper()
	p, ok := FindPython(xy)
	if !ok {
		t.Skipf("testpy: no Python %s on this machine; found: %s", xy, describe(FindPythons()))
	}
	return p
}

// AnyPythons returns n interpreters of distinct X.Y whose venv module and
// ensurepip work (so `python -m venv` gives an environment with pip),
// preferring 3.8 and newer (newest first), or skips the test if there are
// fewer.
func AnyPythons(t testing.TB, n int) []Python {
	t.Helper()
	all := FindPythons()
	var modern, old []Python
	for i := len(all) - 1; i >= 0; i-- {
		p := all[i]
		if !canVenv(p) {
			continue
		}
		if pyenv.VersionLess(p.Version, "3.8") {
			old = append(old, p)
		} else {
			modern = append(modern, p)
		}
	}
	ok := append(modern, old...)
	if len(ok) < n {
		t.Skipf("testpy: need %d Python versions with venv and pip; found: %s", n, describe(all))
	}
	return ok[:n]
}

var (
	venvMu sync.Mutex
	venvOK = map[string]bool{}
)

func canVenv(p Python) bool {
	venvMu.Lock()
	defer venvMu.Unlock()
	if ok, seen := venvOK[p.Path]; seen {
		return ok
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := exec.CommandContext(ctx, p.Path, "-c", "import venv, ensurepip").Run()
	venvOK[p.Path] = err == nil
	return err == nil
}

func describe(ps []Python) string {
	if len(ps) == 0 {
		return "none"
	}
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, ", ")
}

// PyenvRoot returns $PYENV_ROOT or ~/.pyenv.
func PyenvRoot() string { return pyenv.Root() }

const probe = `import sys; print("%d.%d.%d" % sys.version_info[:3]); print(sys.executable)`

func findPythons() []Python {
	var cands []string
	if root := PyenvRoot(); root != "" {
		dirs, _ := filepath.Glob(filepath.Join(root, "versions", "*", "bin"))
		for _, d := range dirs {
			for _, n := range []string{"python3", "python"} {
				if st, err := os.Stat(filepath.Join(d, n)); err == nil && !st.IsDir() {
					cands = append(cands, filepath.Join(d, n))
					break
				}
			}
		}
	}
	names := []string{"python3"}
	for minor := 6; minor <= 20; minor++ {
		names = append(names, "python3."+strconv.Itoa(minor))
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			cands = append(cands, p)
		}
	}
	res := make([]*Python, len(cands))
	var wg sync.WaitGroup
	for i, c := range cands {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p, ok := probePython(c); ok {
				res[i] = &p
			}
		}()
	}
	wg.Wait()
	best := map[string]Python{}
	for _, p := range res {
		if p == nil || !strings.HasPrefix(p.Version, "3.") {
			continue
		}
		if b, ok := best[p.Version]; !ok || pyenv.VersionLess(b.Patch, p.Patch) {
			best[p.Version] = *p
		}
	}
	var out []Python
	for _, p := range best {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return pyenv.VersionLess(out[i].Version, out[j].Version) })
	return out
}

func probePython(path string) (Python, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-c", probe)
	cmd.Env = append(os.Environ(), "PYTHONHOME=")
	out, err := cmd.Output()
	if err != nil {
		return Python{}, false
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 {
		return Python{}, false
	}
	patch := strings.TrimSpace(lines[0])
	exe := strings.TrimSpace(lines[1])
	if exe == "" {
		exe = path
	}
	parts := strings.SplitN(patch, ".", 3)
	if len(parts) < 2 {
		return Python{}, false
	}
	return Python{Version: parts[0] + "." + parts[1], Patch: patch, Path: exe}, true
}
