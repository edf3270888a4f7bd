package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/sdk/testpy"
)

// TestBuildFlagsE2E: build -n, --cuda, --cudnn, --arch, -dpo (secrets
// masked in the bundle), --push to a project and a .swrt file, --force-push,
// Starwhale's multi-letter short flags before and after WORKDIR, and the bad
// inputs that must store nothing.
func TestBuildFlagsE2E(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)
	root := t.TempDir()
	wd := stWorkdir(t, filepath.Join(root, "wd"), "flags-rt", py.Version, testpy.Wheel{Name: "tiny-f", Version: "1.0"})
	pipConf := filepath.Join(root, "pip.conf")
	write(t, pipConf, "[global]\nextra-index-url = https://alice:hunter2@pypi.example.com/simple\ntrusted-host = pypi.example.com\n")
	c.setenv("PIP_CONFIG_FILE=" + pipConf)

	before := c.stState()
	for _, bad := range []struct {
		want []string
		args []string
	}{
		{[]string{`--cuda "eleven"`, "X.Y"}, []string{wd, "--cuda", "eleven"}},
		{[]string{`--arch "sparc"`, "noarch, amd64, arm64"}, []string{"--arch", "sparc", wd}},
		{[]string{"--name", "Bad_Name"}, []string{wd, "-n", "Bad_Name"}},
		{[]string{"--force-push needs --push"}, []string{wd, "--force-push"}},
	} {
		c.fail(bad.want, append([]string{"runtime", "build"}, bad.args...)...)
	}
	assert.Equal(t, before, c.stState(), "a refused build stores nothing")

	swrt := filepath.Join(root, "pushed.swrt")
	r := c.ok("-o", "json", "runtime", "build", wd, "-n", "renamed", "--cuda", "11.8", "--cudnn", "8", "--arch", "x86_64", "-dpo", "--push", swrt)
	var out struct {
		stBuild
		Pushed *stVersion `json:"pushed"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out), r.stdout)
	assert.Equal(t, "renamed", out.Name)
	require.NotNil(t, out.Pushed, r.stdout)
	assert.Equal(t, out.Digest, string(out.Pushed.Digest))
	info := stJSON[struct {
		Manifest struct {
			Name string `json:"name"`
			Spec struct {
				Environment struct {
					CUDA  string   `json:"cuda"`
					CUDNN string   `json:"cudnn"`
					Arch  []string `json:"arch"`
				} `json:"environment"`
			} `json:"spec"`
		} `json:"manifest"`
	}](t, c.ok("runtime", "info", swrt, "-of", "manifest").stdout)
	assert.Equal(t, "renamed", info.Manifest.Name)
	assert.Equal(t, "11.8", info.Manifest.Spec.Environment.CUDA)
	assert.Equal(t, "8", info.Manifest.Spec.Environment.CUDNN)
	assert.Equal(t, []string{"amd64"}, info.Manifest.Spec.Environment.Arch)

	// The pip config is in the snapshot, its password masked.
	x := filepath.Join(root, "x")
	c.ok("runtime", "extract", swrt, "--target-dir", x)
	dumped, err := os.ReadFile(filepath.Join(x, ".starwhale", "configs", "pip.conf"))
	require.NoError(t, err)
	assert.Contains(t, string(dumped), "https://alice:***@pypi.example.com/simple")
	assert.Contains(t, string(dumped), "trusted-host = pypi.example.com")
	assert.NotContains(t, string(dumped), "hunter2")
	assert.NotContains(t, r.stdout+r.stderr, "hunter2")

	// A second push to the same file needs --force-push; a push to a project.
	stAppendReq(t, wd, "# two")
	c.fail([]string{"push failed", "pushed.swrt"}, "runtime", "build", "-n", "renamed", "--push", swrt, wd)
	r = c.ok("runtime", "build", "--force-push", "--push", swrt, "-n", "renamed", wd)
	assert.Contains(t, r.stdout, "pushed to ")
	stAppendReq(t, wd, "# three")
	r = c.ok("runtime", "build", wd, "-n", "renamed", "--push", "local/project/team")
	assert.Contains(t, r.stdout, "pushed to local/project/team/runtime/renamed/version/")
	last := c.stHistory("renamed")[0]
	team := c.stHistory("local/project/team/runtime/renamed")
	require.Len(t, team, 1)
	assert.Equal(t, last.Digest, team[0].Digest, "the pushed version is the one just built")
}

// TestDisableEnvLockE2E: build -del takes the spec's pins as written: no
// lock files in the bundle, lock_disabled in its manifest; a restore of its
// layers is the environment as built, but a restore --from-lock (and any
// restore of a --lock-only -del bundle) installs the spec as written, so a
// loose pin picks up the newer wheel the index has since, where the locked
// build's --from-lock restore installs exactly what was locked. -del with an
// existing environment is refused.
func TestDisableEnvLockE2E(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)
	root := t.TempDir()
	idx := filepath.Join(root, "index")
	_, err := testpy.BuildWheel(idx, testpy.Wheel{Name: "tiny-d", Version: "1.0"})
	require.NoError(t, err)
	url := testpy.ServeIndex(t, idx)
	wd := filepath.Join(root, "wd")
	write(t, filepath.Join(wd, "runtime.yaml"), "name: del-rt\nmode: venv\nenvironment:\n  python: \""+py.Version+"\"\n"+
		"configs:\n  pip:\n    index_url: "+url+"\n    trusted_host: [127.0.0.1]\ndependencies:\n  - pip:\n      - tiny-d>=1.0\n")

	type manifest struct {
		LockDisabled bool     `json:"lock_disabled"`
		LockFiles    []string `json:"lock_files"`
		Lock         []struct{ Name, Version string }
	}
	manifestOf := func(uri string) manifest {
		t.Helper()
		return stJSON[struct {
			Manifest manifest `json:"manifest"`
		}](t, c.ok("runtime", "info", uri, "-of", "manifest").stdout).Manifest
	}
	del := c.stBuildOK(wd, "-del")
	m := manifestOf("del-rt/version/" + del.Version)
	assert.True(t, m.LockDisabled)
	assert.Empty(t, m.LockFiles, "no lock files: the spec is the lock")
	assert.Contains(t, fmt.Sprint(m.Lock), "{tiny-d 1.0}", "the lock still lists what the env layers hold")
	x := filepath.Join(root, "x")
	c.ok("runtime", "extract", "del-rt/version/"+del.Version, "--target-dir", x)
	_, err = os.Stat(filepath.Join(x, ".starwhale", "lock"))
	assert.True(t, os.IsNotExist(err), "no lock folder in the snapshot of a -del build")

	locked := c.stBuildOK(wd, "--disable-env-lock=false")
	assert.NotEqual(t, del.Digest, locked.Digest)
	lm := manifestOf("del-rt/version/" + locked.Version)
	assert.False(t, lm.LockDisabled)
	assert.NotEmpty(t, lm.LockFiles)
	d := stJSON[struct {
		Fields []struct{ Field, A, B string } `json:"fields"`
	}](t, c.ok("-o", "json", "runtime", "diff", "del-rt/version/"+del.Version, "del-rt/version/"+locked.Version).stdout)
	assert.Contains(t, d.Fields, struct{ Field, A, B string }{"lock_disabled", "true", "false"})
	lockOnly := c.stBuildOK(wd, "-del", "--lock-only")

	// The index has moved on since the builds.
	_, err = testpy.BuildWheel(idx, testpy.Wheel{Name: "tiny-d", Version: "2.0"})
	require.NoError(t, err)
	restore := func(v, dir string, more ...string) string {
		t.Helper()
		res := stJSON[struct{ Path string }](t, c.ok(append([]string{"-o", "json", "runtime", "restore", "del-rt/version/" + v, "--target-dir", dir}, more...)...).stdout)
		out, err := exec.Command(filepath.Join(dir, ".starwhale", "venv", "bin", "python"), "-c", "import importlib.metadata as m; print(m.version('tiny-d'))").CombinedOutput()
		require.NoError(t, err, "%s", out)
		return res.Path + " " + strings.TrimSpace(string(out))
	}
	assert.Equal(t, "layers 1.0", restore(del.Version, filepath.Join(root, "r-layers")), "the layers are the env as built")
	assert.Equal(t, "spec 2.0", restore(del.Version, filepath.Join(root, "r-spec"), "--from-lock"), "--from-lock installs the spec as written")
	assert.Equal(t, "spec 2.0", restore(lockOnly.Version, filepath.Join(root, "r-lock-only")), "a --lock-only -del bundle installs the spec")
	assert.Equal(t, "lock 1.0", restore(locked.Version, filepath.Join(root, "r-lock"), "--from-lock"), "a locked build installs its lock")

	// An existing environment has no pins of its own to take.
	prefix := feVenv(t, c, py, filepath.Join(root, "env"))
	c.stFailSame([]string{"-del/--disable-env-lock", prefix, "drop -del"}, "runtime", "build", "-v", prefix, "-del")
}
