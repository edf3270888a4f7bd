package main_test

// The conda mode end to end, through the real swcli binary and the real conda
// plugin binary, against the conda STAND-IN in plugins/conda/testdata (a
// script that follows conda's documented command-line contract for the
// commands the plugin uses; it is not conda). The same cycle against a real
// conda runs in plugins/conda/condamode's TestRealConda when one is on PATH.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func condaStandin(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "plugins", "conda", "testdata", "conda-standin"))
	require.NoError(t, err)
	return p
}

func TestStandinCondaCreateBuildRestoreRun(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)
	c.setenv("SW_CONDA_EXE="+condaStandin(t), "CONDA_STANDIN_LOG="+filepath.Join(c.home, "conda.log"))
	// A long build folder, so the env can be restored into shorter ones.
	wd := filepath.Join(c.home, "a-rather-long-folder-name-for-the-build", "wd")
	c.ok("runtime", "create", "--mode", "conda", "--name", "cc", "--python", py.Version, wd)
	write(t, filepath.Join(wd, "runtime.yaml"), "name: cc\nmode: conda\nenvironment:\n  python: \""+py.Version+"\"\ndependencies:\n  - conda: [libfoo]\n")

	var built struct{ Name, Version string }
	require.NoError(t, json.Unmarshal([]byte(c.ok("-o", "json", "runtime", "build", wd).stdout), &built))
	assert.Equal(t, "cc", built.Name)

	info := c.ok("-o", "json", "runtime", "info", "cc", "--output-filter", "all").stdout
	assert.Contains(t, info, "libfoo")
	assert.Contains(t, info, "conda-lock.txt")

	// Fast path: unpack and relocate (conda-pack style) into a shorter prefix.
	short := filepath.Join(c.home, "r")
	c.ok("runtime", "restore", "cc", "--target-dir", short)
	out := c.ok("runtime", "run", short, "--", "sh", "-c", `echo "$CONDA_PREFIX|$LIBFOO_HOME"; python -c 'import sys; print(sys.prefix)'`).stdout
	prefix := filepath.Join(short, ".starwhale", "conda")
	assert.Contains(t, out, prefix+"|"+prefix, "activate.d scripts run for `runtime run`")
	assert.Contains(t, out, "\n"+prefix)
	// Nothing of the build folder is left in text files.
	filepath.WalkDir(prefix, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(p, "__pycache__") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil && !strings.ContainsRune(string(b), 0) {
			assert.NotContains(t, string(b), wd, p)
		}
		return nil
	})

	// A prefix longer than the packed one cannot hold the binary files.
	long := filepath.Join(c.home, strings.Repeat("x", 80), "r")
	c.fail([]string{"longer than the packed prefix", "--target-dir", "--from-lock"}, "runtime", "restore", "cc", "--target-dir", long)
	_, err := os.Stat(filepath.Join(long, ".starwhale", "state", "conda.json"))
	if err == nil {
		b, _ := os.ReadFile(filepath.Join(long, ".starwhale", "state", "conda.json"))
		assert.NotContains(t, string(b), `"ready"`, "a refused restore is not marked ready")
	}

	// Lock path: the explicit spec, then pip.
	fromLock := filepath.Join(c.home, "l")
	c.ok("runtime", "restore", "cc", "--target-dir", fromLock, "--from-lock")
	out = c.ok("runtime", "run", fromLock, "--", "sh", "-c", `echo "$LIBFOO_HOME"`).stdout
	assert.Contains(t, out, filepath.Join(fromLock, ".starwhale", "conda"))
	log, err := os.ReadFile(filepath.Join(c.home, "conda.log"))
	require.NoError(t, err)
	assert.Contains(t, string(log), `"--file"`, "the lock path creates from the explicit spec")
}

func TestStandinCondaNotFound(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.setenv("PATH=/usr/bin:/bin", "SW_CONDA_EXE=")
	wd := filepath.Join(c.home, "wd")
	c.fail([]string{"conda mode needs conda, mamba or micromamba on PATH, or SW_CONDA_EXE"},
		"runtime", "create", "--mode", "conda", "--name", "cc", "--python", "3.11", wd)
	_, err := os.Stat(filepath.Join(wd, "runtime.yaml"))
	assert.True(t, os.IsNotExist(err), "nothing written when conda is missing")
}

// TestRealCondaCycle runs create → build → restore → run with a real conda,
// mamba or micromamba, through the swcli binary. It needs channels (network
// or a local mirror in the condarc), so it only runs when asked:
// SW_TEST_REAL_CONDA=1 and a tool on PATH.
func TestRealCondaCycle(t *testing.T) {
	if os.Getenv("SW_TEST_REAL_CONDA") != "1" {
		t.Skip("set SW_TEST_REAL_CONDA=1 (with conda, mamba or micromamba on PATH and its channels reachable) to run the real conda cycle")
	}
	var tool string
	for _, name := range []string{"conda", "mamba", "micromamba"} {
		if p, err := exec.LookPath(name); err == nil {
			tool = p
			break
		}
	}
	if tool == "" {
		t.Skip("SW_TEST_REAL_CONDA=1 but no conda, mamba or micromamba on PATH")
	}
	c := newCLI(t)
	c.setenv("SW_CONDA_EXE="+tool, "PIP_INDEX_URL=")
	wd := filepath.Join(c.home, "a-long-enough-build-folder-for-relocation", "wd")
	c.ok("runtime", "create", "--mode", "conda", "--name", "realconda", "--python", "3.10", wd)
	c.ok("runtime", "build", wd)
	short := filepath.Join(c.home, "r")
	c.ok("runtime", "restore", "realconda", "--target-dir", short)
	out := c.ok("runtime", "run", short, "--", "python", "-c", "import sys; print(sys.prefix)").stdout
	assert.Contains(t, out, filepath.Join(short, ".starwhale", "conda"))
	c.ok("runtime", "restore", "realconda", "--target-dir", filepath.Join(c.home, "l"), "--from-lock")
}
