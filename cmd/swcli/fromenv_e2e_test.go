package main_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/sdk/testpy"
)

// contentHash hashes every entry of dir: path, mode, mtime and content (a
// link by its target), so any change to the environment shows.
func contentHash(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h.Write([]byte(rel + "\x00" + info.Mode().String() + "\x00"))
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			h.Write([]byte(target))
		case d.Type().IsRegular():
			h.Write([]byte(info.ModTime().String()))
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(data)
		}
		h.Write([]byte{'\n'})
		return nil
	}))
	return hex.EncodeToString(h.Sum(nil))
}

// feVenv makes a venv at prefix with python -m venv and installs wheels
// (built beside it) with its pip, outside any workdir.
func feVenv(t *testing.T, c *cli, py testpy.Python, prefix string, wheels ...testpy.Wheel) string {
	t.Helper()
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = c.env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s %v: %s", name, args, out)
	}
	run(py.Path, "-m", "venv", prefix)
	for _, w := range wheels {
		whl, err := testpy.BuildWheel(filepath.Join(filepath.Dir(prefix), "wheels"), w)
		require.NoError(t, err)
		run(filepath.Join(prefix, "bin", "python"), "-m", "pip", "install", "--no-index", whl)
	}
	return prefix
}

// TestFromEnvE2E builds a venv that exists (made with python -m venv and
// pip, outside any workdir) with -v and -s: no runtime.yaml, the name from
// the folder or -n, the lock from the env, a generated runtime.yaml in the
// snapshot, a --from-lock restore, the env untouched; and every bad source.
func TestFromEnvE2E(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)
	root := t.TempDir()
	prefix := feVenv(t, c, py, filepath.Join(root, "My Env"), testpy.Wheel{Name: "tiny-e", Version: "3.1"})
	before := contentHash(t, prefix)
	state := c.stState()

	notVenv := filepath.Join(root, "plain")
	require.NoError(t, os.MkdirAll(notVenv, 0o755))
	for _, bad := range []struct {
		want []string
		args []string
	}{
		{[]string{"--venv " + notVenv + " is not a venv"}, []string{"-v", notVenv}},
		{[]string{`--conda "nope"`, "no conda environment of that name"}, []string{"-c", "nope"}},
		{[]string{"-s/--shell: no environment is active"}, []string{"-s"}},
		{[]string{"-v/--venv and -c/--conda conflict"}, []string{"-v", prefix, "-c", "base"}},
		{[]string{"WORKDIR " + root + " and -v/--venv conflict"}, []string{root, "-v", prefix}},
		{[]string{"--conda-prefix " + prefix, "not a conda environment"}, []string{"-cp", prefix}},
	} {
		c.fail(bad.want, append([]string{"runtime", "build"}, bad.args...)...)
	}
	assert.Equal(t, state, c.stState(), "a refused build stores nothing")

	b := c.stBuildOK("-v", prefix)
	assert.Equal(t, "my-env", b.Name, "the name comes from the folder")
	assert.Equal(t, before, contentHash(t, prefix), "building an env does not change it")
	lock := c.ok("runtime", "info", "my-env", "-of", "lock").stdout
	assert.Contains(t, lock, "tiny-e")
	assert.Contains(t, lock, "3.1")
	yaml := c.ok("runtime", "info", "my-env", "-of", "runtime_yaml").stdout
	assert.Contains(t, yaml, "mode: venv\nname: my-env\npython_version: \""+py.Version+"\"")

	// -s finds the active venv; the same env gives the same version.
	c.setenv("VIRTUAL_ENV=" + prefix)
	s := c.stBuildOK("-s", "-n", "my-env")
	assert.Equal(t, b.Digest, s.Digest, "content-addressed: the same env, the same version")
	o := c.stBuildOK("--shell", "--name", "other-name", "-t", "picked")
	assert.Equal(t, "other-name", o.Name)
	c.setenv("VIRTUAL_ENV=")
	assert.Equal(t, before, contentHash(t, prefix))

	// A --from-lock restore rebuilds it from the lock (the wheel is still
	// where pip installed it from).
	target := filepath.Join(root, "restored")
	c.ok("runtime", "restore", "my-env", "--target-dir", target, "--from-lock")
	out, err := exec.Command(filepath.Join(target, ".starwhale", "venv", "bin", "python"), "-c", "import importlib.metadata as m; print(m.version('tiny-e'))").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "3.1", strings.TrimSpace(string(out)))
}

// TestFromEnvCondaE2E builds conda environments that exist (made by the
// conda STAND-IN, see conda_e2e_test.go) with -cp PREFIX and -c NAME (found
// in CONDA_ENVS_PATH): the lock holds the conda packages, the environment is
// untouched, and the bundle restores from its layers (relocated into a new
// prefix) and from its lock.
func TestFromEnvCondaE2E(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)
	c.setenv("SW_CONDA_EXE="+condaStandin(t), "CONDA_STANDIN_LOG="+filepath.Join(c.home, "conda.log"))
	envs := filepath.Join(c.home, "a-long-enough-folder-of-conda-environments", "envs")
	prefix := filepath.Join(envs, "vision")
	cmd := exec.Command(condaStandin(t), "create", "-y", "-p", prefix, "python="+py.Version, "libfoo")
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	before := contentHash(t, prefix)

	b := c.stBuildOK("-cp", prefix)
	assert.Equal(t, "vision", b.Name, "the name comes from the prefix's folder")
	assert.Equal(t, before, contentHash(t, prefix), "building a conda env does not change it")
	info := c.ok("-o", "json", "runtime", "info", "vision", "-of", "all").stdout
	assert.Contains(t, info, "libfoo")
	assert.Contains(t, info, "conda-lock.txt")
	assert.Contains(t, c.ok("runtime", "info", "vision", "-of", "runtime_yaml").stdout, "mode: conda\nname: vision\n")

	// -c NAME finds the same env in CONDA_ENVS_PATH: the same version.
	c.fail([]string{`--conda "vision"`, "no conda environment of that name"}, "runtime", "build", "-c", "vision")
	c.setenv("CONDA_ENVS_PATH=" + envs)
	n := c.stBuildOK("-c", "vision", "-t", "named")
	assert.Equal(t, b.Digest, n.Digest, "content-addressed: the same env, the same version")
	assert.Equal(t, before, contentHash(t, prefix))

	// The layers, relocated into a shorter prefix; and the lock.
	short := filepath.Join(c.home, "r")
	c.ok("runtime", "restore", "vision/version/named", "--target-dir", short)
	got := c.ok("runtime", "run", short, "--", "sh", "-c", `echo "$LIBFOO_HOME"; python -c 'import sys; print(sys.prefix)'`).stdout
	rp := filepath.Join(short, ".starwhale", "conda")
	assert.Equal(t, rp+"\n"+rp+"\n", got)
	fromLock := filepath.Join(c.home, "l")
	c.ok("runtime", "restore", "vision", "--target-dir", fromLock, "--from-lock")
	got = c.ok("runtime", "run", fromLock, "--", "sh", "-c", `echo "$LIBFOO_HOME"`).stdout
	assert.Equal(t, filepath.Join(fromLock, ".starwhale", "conda")+"\n", got)
	assert.Equal(t, before, contentHash(t, prefix), "restores do not touch the source env")
}
