package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BuildAt builds the main package pkg (a path from the module root, as
// "./plugins/s3store") as it was at commit: the folders dirs of that
// commit (git archive), built offline against the module cache. It is how
// a test gets an already-built plugin of an older protocol. It skips the
// test, saying why, outside a git checkout that has the commit.
func BuildAt(t testing.TB, commit, pkg string, dirs ...string) string {
	t.Helper()
	root := repoRoot()
	if err := exec.Command("git", "-C", root, "cat-file", "-e", commit+"^{commit}").Run(); err != nil {
		t.Skipf("git checkout with commit %.12s needed to build %s as it was: %v", commit, pkg, err)
	}
	src := t.TempDir()
	args := append([]string{"-c", `git -C "$1" archive "$2" "${@:3}" | tar -x -C "$0"`, src, root, commit}, dirs...)
	if out, err := exec.Command("bash", args...).CombinedOutput(); err != nil {
		t.Fatalf("git archive %.12s: %v: %s", commit, err, out)
	}
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg)+"-"+commit[:12])
	build := exec.Command("go", "build", "-o", bin, pkg)
	build.Dir = src
	build.Env = append(os.Environ(), "GOPROXY=off", "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s at %.12s: %v: %s", pkg, commit, err, out)
	}
	return bin
}
