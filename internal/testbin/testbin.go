// Package testbin gives tests the built swcli binary and its plugins: the
// folder named by SWCLI_BIN (`make test` sets it to bin/ after `make build`;
// a relative one is relative to the module root),
// or a fresh build into a temporary folder, once per test process.
//
// The folder holds two swcli builds: swcli, as shipped, and TestBinary,
// the same with the test hooks compiled in (-tags swclitest: crash at a
// stage, small upload chunks), which the end-to-end tests run.
package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	once sync.Once
	dir  string
	err  error
)

// repoRoot is the module root, found from this file's path.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// fromRoot resolves a relative SWCLI_BIN from the module root, not from the
// package folder go test runs in: `SWCLI_BIN=bin go test ./cmd/swcli` means
// the repo's bin/.
func fromRoot(d string) string {
	if filepath.IsAbs(d) {
		return d
	}
	return filepath.Join(repoRoot(), d)
}

// Dir returns a folder holding swcli, the plugin binaries and their
// plugins.yaml.
func Dir(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		if d := os.Getenv("SWCLI_BIN"); d != "" {
			dir = fromRoot(d)
			return
		}
		dir, err = os.MkdirTemp("", "swcli-testbin-")
		if err != nil {
			return
		}
		root := repoRoot()
		for _, b := range [][]string{{"-o", filepath.Join(dir, "swcli")}, {"-tags", TestTag, "-o", filepath.Join(dir, TestBinary)}} {
			cmd := exec.Command("go", append(append([]string{"build"}, b...), "./cmd/swcli")...)
			cmd.Dir = root
			if out, e := cmd.CombinedOutput(); e != nil {
				err = &buildError{string(out), e}
				return
			}
		}
		cmd := exec.Command("go", "run", "./tools/genplugins", "-bin", dir)
		cmd.Dir = root
		if out, e := cmd.CombinedOutput(); e != nil {
			err = &buildError{string(out), e}
		}
	})
	if err != nil {
		t.Fatalf("building swcli for tests: %v", err)
	}
	for _, b := range []string{"swcli", TestBinary} {
		if _, e := os.Stat(filepath.Join(dir, b)); e != nil {
			t.Fatalf("SWCLI_BIN=%s has no %s binary (run `make build`)", dir, b)
		}
	}
	return dir
}

// TestTag is the build tag of swcli's test hooks; TestBinary the name of
// the build with them, beside swcli (so it finds the same plugins.yaml).
const (
	TestTag    = "swclitest"
	TestBinary = "swcli-swclitest"
)

// SWCLI is the path of the swcli binary the end-to-end tests run: the
// build with the test hooks.
func SWCLI(t testing.TB) string { return filepath.Join(Dir(t), TestBinary) }

// Shipped is the path of swcli as shipped (no test hooks).
func Shipped(t testing.TB) string { return filepath.Join(Dir(t), "swcli") }

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }
