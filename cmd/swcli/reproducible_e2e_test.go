package main_test

// Builds that do not depend on the build folder, restores that leave no
// trace of it and need no conda, and the README's examples, end to end
// through the real binaries (conda mode against the conda STAND-IN).

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noTrace asserts that no file under dir (binary ones included) holds any
// of paths.
func noTrace(t *testing.T, dir string, paths ...string) {
	t.Helper()
	n := 0
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		n++
		for _, x := range paths {
			assert.NotContains(t, string(b), x, "%s holds the build folder's path", p)
		}
		return nil
	}))
	assert.Positive(t, n)
}

// TestCondaBuildAnyFolderRestoreWithoutConda: the same conda runtime.yaml
// built in two folders gives one version; its restore, on a PATH without
// conda, holds no path of the build folder anywhere (the stand-in's python
// has -L/-I paths in its sysconfig data, Makefile, -config and .pc files)
// and its conda-meta is true for the new prefix; --from-lock without conda
// says that conda is needed.
func TestCondaBuildAnyFolderRestoreWithoutConda(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)
	c.setenv("SW_CONDA_EXE=" + condaStandin(t))
	spec := "name: same\nmode: conda\nenvironment:\n  python: \"" + py.Version + "\"\ndependencies:\n  - conda: [zlib]\n"
	var wds []string
	var versions []string
	for i, dir := range []string{"first-build-folder", "b"} {
		wd := filepath.Join(c.home, dir, "wd")
		write(t, filepath.Join(wd, "runtime.yaml"), spec)
		if i > 0 {
			time.Sleep(1100 * time.Millisecond) // another timestamp in conda-meta/history
		}
		var built struct{ Version string }
		require.NoError(t, json.Unmarshal([]byte(c.ok("-o", "json", "runtime", "build", wd).stdout), &built))
		wds = append(wds, wd)
		versions = append(versions, built.Version)
	}
	assert.Equal(t, versions[0], versions[1], "one runtime.yaml, one version, whatever the folder")

	noConda := newCLI(t)
	noConda.env = append([]string(nil), c.env...)
	noConda.setenv("SW_CONDA_EXE=", "PATH=/usr/bin:/bin")
	target := filepath.Join(c.home, "restored")
	noConda.ok("runtime", "restore", "same/version/"+versions[0], "--target-dir", target)
	prefix := filepath.Join(target, ".starwhale", "conda")
	noTrace(t, prefix, wds[0], wds[1])
	sysconfig, _ := filepath.Glob(filepath.Join(prefix, "lib", "python*", "_sysconfigdata_*standin.py"))
	require.Len(t, sysconfig, 1)
	b, err := os.ReadFile(sysconfig[0])
	require.NoError(t, err)
	assert.Contains(t, string(b), "-L"+prefix+"/lib", "the flag's path is the new prefix")

	// conda-meta: no package cache of the build machine, sha256_in_prefix
	// of the files as they are now.
	recs, _ := filepath.Glob(filepath.Join(prefix, "conda-meta", "python-*.json"))
	require.Len(t, recs, 1)
	var rec struct {
		ExtractedPackageDir string `json:"extracted_package_dir"`
		PathsData           struct {
			Paths []struct {
				Path        string `json:"_path"`
				Placeholder string `json:"prefix_placeholder"`
				InPrefix    string `json:"sha256_in_prefix"`
			} `json:"paths"`
		} `json:"paths_data"`
	}
	raw, err := os.ReadFile(recs[0])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &rec))
	assert.Empty(t, rec.ExtractedPackageDir)
	checked := 0
	for _, p := range rec.PathsData.Paths {
		if p.Placeholder == "" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(prefix, p.Path))
		require.NoError(t, err)
		sum := sha256.Sum256(data)
		assert.Equal(t, hex.EncodeToString(sum[:]), p.InPrefix, p.Path)
		checked++
	}
	assert.GreaterOrEqual(t, checked, 4)
	out := noConda.ok("runtime", "run", target, "--", "python", "-c", "import sys; print(sys.prefix)").stdout
	assert.Contains(t, out, prefix)

	// --from-lock needs conda: the error says so (not "install Python").
	msg := noConda.fail([]string{"needs conda", "without --from-lock"}, "runtime", "restore", "same/version/"+versions[0], "--target-dir", filepath.Join(c.home, "l"), "--from-lock")
	assert.NotContains(t, msg, "pyenv install")

	// conda keeps working in the restored environment.
	for _, args := range [][]string{{"list", "-p", prefix}, {"remove", "-y", "-p", prefix, "zlib"}, {"install", "-y", "-p", prefix, "libfoo"}} {
		cmd := exec.Command(condaStandin(t), args...)
		cmd.Env = c.env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "conda %v: %s", args, out)
	}
	assert.NoFileExists(t, filepath.Join(prefix, "lib", "libz.so.1.2.13"))
	assert.FileExists(t, filepath.Join(prefix, "lib", "libfoo.so"))
}

// TestReadmeFilesFolderExample runs the README's `files:` example (a
// folder src) through create, build and restore, in both modes.
func TestReadmeFilesFolderExample(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	for _, m := range []string{"venv", "conda"} {
		t.Run(m, func(t *testing.T) {
			c := newCLI(t)
			c.setenv("SW_CONDA_EXE=" + condaStandin(t))
			wd := filepath.Join(c.home, "mnist")
			write(t, filepath.Join(wd, "configs", "train.yaml"), "epochs: 3\n")
			write(t, filepath.Join(wd, "configs", "sub", "model.yaml"), "layers: 2\n")
			write(t, filepath.Join(wd, "runtime.yaml"), "name: mnist\nmode: "+m+"\nenvironment:\n  python: \""+py.Version+"\"\n"+
				"dependencies:\n  - files:\n      - {src: configs/, dest: etc/mnist/}   # dest is relative to the environment\n")
			c.ok("runtime", "create", wd)
			c.ok("runtime", "build", wd)
			target := filepath.Join(c.home, "r")
			c.ok("runtime", "restore", "mnist", "--target-dir", target)
			b, err := os.ReadFile(filepath.Join(target, ".starwhale", m, "etc", "mnist", "sub", "model.yaml"))
			require.NoError(t, err)
			assert.Equal(t, "layers: 2\n", string(b))
			// A change in the folder is seen: build installs it again.
			write(t, filepath.Join(wd, "configs", "sub", "model.yaml"), "layers: 4\n")
			c.ok("runtime", "build", wd)
			b, err = os.ReadFile(filepath.Join(wd, ".starwhale", m, "etc", "mnist", "sub", "model.yaml"))
			require.NoError(t, err)
			assert.True(t, strings.Contains(string(b), "layers: 4"), "build installed the changed folder: %s", b)
		})
	}
}
