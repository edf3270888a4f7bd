package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
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
