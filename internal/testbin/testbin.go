// Package testbin gives tests the built swcli binary and its plugins: the
// folder named by SWCLI_BIN (`make test` sets it to bin/ after `make build`;
// a relative one is relative to the module root),
// or a fresh build into a temporary folder, once per test process.
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
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "swcli"), "./cmd/swcli")
		cmd.Dir = root
		if out, e := cmd.CombinedOutput(); e != nil {
			err = &buildError{string(out), e}
			return
		}
		cmd = exec.Command("go", "run", "./tools/genplugins", "-bin", dir)
		cmd.Dir = root
		if out, e := cmd.CombinedOutput(); e != nil {
			err = &buildError{string(out), e}
		}
	})
	if err != nil {
		t.Fatalf("building swcli for tests: %v", err)
	}
	if _, e := os.Stat(filepath.Join(dir, "swcli")); e != nil {
		t.Fatalf("SWCLI_BIN=%s has no swcli binary (run `make build`)", dir)
	}
	return dir
}

// SWCLI is the path of the swcli binary.
func SWCLI(t testing.TB) string { return filepath.Join(Dir(t), "swcli") }

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }
