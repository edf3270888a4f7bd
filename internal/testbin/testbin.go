// Package testbin gives tests the built swcli binary and its plugins: the
// folder named by SWCLI_BIN (`make test` sets it to bin/ after `make build`;
// a relative one is relative to the module root),
// or a fresh build into a temporary folder, once per test process.
//
// The folder holds two swcli builds: swcli, as shipped, and TestBinary,
// the same with the test hooks compiled in (-tags swclitest: crash at a
// stage, small upload chunks), which the end-to-end tests run.
//
// A fresh build's folder (about 125 MB) is held by its test process with a
// shared flock on its .inuse file for the life of the process (the kernel
// drops it when the process ends, however it ends); the next fresh build
// removes every swcli-testbin-* folder whose lock nobody holds, so test
// runs do not fill the temp folder.
package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
		removeAbandoned()
		dir, err = os.MkdirTemp("", tempPrefix)
		if err != nil {
			return
		}
		if err = holdFolder(dir); err != nil {
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

const (
	tempPrefix = "swcli-testbin-"
	inUseFile  = ".inuse"
)

// held keeps the open .inuse file of this process's build folder, and with
// it the shared flock, until the process ends.
var held *os.File

// holdFolder takes a shared flock on dir's .inuse file and keeps it. The
// file is locked before it gets its name, so an .inuse that can be locked
// exclusively is never one whose process is still starting.
func holdFolder(dir string) error {
	tmp := filepath.Join(dir, inUseFile+".new")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	err = unix.Flock(int(f.Fd()), unix.LOCK_SH)
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, inUseFile))
	}
	if err != nil {
		_ = f.Close()
		return err
	}
	held = f
	return nil
}

// removeAbandoned removes the build folders of test processes that have
// ended: those whose .inuse lock can be taken exclusively at once. A folder
// without .inuse is another process's build still being made (it creates
// the file right after the folder) unless it is an hour old (left by a
// version of this package that did not clean up).
func removeAbandoned() {
	tmp := os.TempDir()
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		d := filepath.Join(tmp, e.Name())
		f, err := os.Open(filepath.Join(d, inUseFile))
		if err != nil {
			if fi, serr := e.Info(); serr == nil && os.IsNotExist(err) && time.Since(fi.ModTime()) > time.Hour {
				_ = os.RemoveAll(d)
			}
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			_ = os.RemoveAll(d) // its process has ended; we hold the lock while removing
		}
		_ = f.Close()
	}
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
