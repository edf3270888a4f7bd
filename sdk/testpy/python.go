package testpy

import (
	"context"
	"fmt"
	"os/exec"
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
// python3.X on PATH (pyenv.List, the interpreter discovery swcli itself
// uses). Every candidate is run once to read its exact version, so broken
// ones are left out, and pyenv shims too. The result is computed once per
// process.
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

// NewestVenvPython is the newest interpreter whose venv module and
// ensurepip work (so `python -m venv` gives an environment with pip), or
// that of X.Y want when want is not "": for the benchmarks and the demo,
// which pick one without a *testing.T. The error names what was found.
func NewestVenvPython(want string) (Python, error) {
	all := FindPythons()
	var found []string
	for i := len(all) - 1; i >= 0; i-- {
		p := all[i]
		found = append(found, p.Version)
		if (want == "" || p.Version == want) && canVenv(p) {
			return p, nil
		}
	}
	if want != "" {
		return Python{}, fmt.Errorf("no Python %s with venv and ensurepip; found: %s", want, strings.Join(found, ", "))
	}
	return Python{}, fmt.Errorf("no Python 3 with venv and ensurepip found (looked at pyenv versions and python3.X on PATH; found: %s)", strings.Join(found, ", "))
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

// findPythons is pyenv.List (the one interpreter discovery) as Pythons.
func findPythons() []Python {
	var out []Python
	for _, it := range pyenv.List(context.Background()) {
		if strings.HasPrefix(it.Version, "3.") {
			out = append(out, Python{Version: it.Version, Patch: it.Patch, Path: it.Path})
		}
	}
	return out
}
