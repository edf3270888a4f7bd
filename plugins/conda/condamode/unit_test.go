package condamode

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
)

// TestCommandsPerFlavor documents the commands run for conda/mamba 1.x and
// for micromamba/mamba 2.x.
func TestCommandsPerFlavor(t *testing.T) {
	c := &tool{path: "conda", flavor: flavorConda}
	u := &tool{path: "micromamba", flavor: flavorMicromamba}
	chans := []string{"conda-forge", "https://mirror/x"}
	for _, tl := range []*tool{c, u} {
		assert.Equal(t, []string{tl.path, "create", "-y", "-p", "/p", "-c", "conda-forge", "-c", "https://mirror/x", "--override-channels", "--json", "python=3.9"},
			tl.createArgs("/p", "3.9", chans))
		assert.Equal(t, []string{tl.path, "create", "-y", "-p", "/p", "--json", "python=3.9"}, tl.createArgs("/p", "3.9", nil))
		assert.Equal(t, []string{tl.path, "install", "-y", "-p", "/p", "--json", "zlib", "libfoo=1.0"}, tl.installArgs("/p", nil, []string{"zlib", "libfoo=1.0"}))
		assert.Equal(t, []string{tl.path, "create", "-y", "-p", "/p", "--json", "--file", "/l.txt"}, tl.createExplicitArgs("/p", "/l.txt"))
	}
	assert.Equal(t, []string{"conda", "env", "update", "-p", "/p", "-f", "/e.yaml"}, c.envUpdateArgs("/p", "/e.yaml"))
	assert.Equal(t, []string{"micromamba", "install", "-y", "-p", "/p", "-f", "/e.yaml"}, u.envUpdateArgs("/p", "/e.yaml"))
}

func TestToolErrorParsing(t *testing.T) {
	// conda --json error document.
	res := result{stdout: `{"caused_by": "None", "error": "UnsatisfiableError: ...", "exception_name": "UnsatisfiableError",
 "message": "The following specifications were found to be incompatible with each other:\n\nOutput in format: Requested package -> Available versions\n\nPackage python conflicts for:\n  - foo"}`}
	me := toolError("conda install failed", res, &exec.ExitError{})
	var e *mode.Error
	require.ErrorAs(t, me, &e)
	assert.Equal(t, mode.ErrToolFailed, e.Code)
	assert.Equal(t, "conda install failed: UnsatisfiableError: The following specifications were found to be incompatible with each other:", e.Message)

	// Fetch progress documents separated by NUL before the error.
	res = result{stdout: "{\"fetch\": \"x\", \"finished\": false}\x00\n{\"exception_name\": \"CondaHTTPError\", \"message\": \"HTTP 000 CONNECTION FAILED for url <http://h/repodata.json>\\nElapsed: -\\n\\nAn HTTP error\"}"}
	require.ErrorAs(t, toolError("conda create failed", res, &exec.ExitError{}), &e)
	assert.Equal(t, "conda create failed: CondaHTTPError: HTTP 000 CONNECTION FAILED for url <http://h/repodata.json> Elapsed: -", e.Message)

	// Plain text (no --json): the marker line and its "- pkg" lines.
	res = result{stderr: "Channels:\n - defaults\nSolving environment: failed\n\nPackagesNotFoundError: The following packages are not available from current channels:\n\n  - nosuch\n  - other\n\nCurrent channels:\n"}
	require.ErrorAs(t, toolError("conda env update failed", res, &exec.ExitError{}), &e)
	assert.Equal(t, "conda env update failed: PackagesNotFoundError: The following packages are not available from current channels: - nosuch - other", e.Message)
	assert.Contains(t, e.Detail, "Solving environment: failed")

	// micromamba / libmamba text.
	res = result{stderr: "warning  libmamba foo\ncritical libmamba Could not solve for environment specs\n    The following package could not be installed\n"}
	require.ErrorAs(t, toolError("micromamba install failed", res, &exec.ExitError{}), &e)
	assert.Equal(t, "micromamba install failed: critical libmamba Could not solve for environment specs", e.Message)
}

func TestReplaceCStrings(t *testing.T) {
	old := []byte("/very/long/old/prefix")
	data := append([]byte("\x7fELF\x00"), old...)
	data = append(data, []byte("/lib:/very/long/old/prefix/lib64\x00\x00\x00tail /very/long/old/prefix")...)
	out := replaceCStrings(data, old, []byte("/new"))
	assert.Len(t, out, len(data))
	assert.Equal(t, "\x7fELF\x00/new/lib:/new/lib64"+string(make([]byte, 2*(len(old)-4)))+"\x00\x00\x00tail /new"+string(make([]byte, len(old)-4)), string(out))
}

func TestPipArgs(t *testing.T) {
	assert.Equal(t, []string{"--disable-pip-version-check", "--index-url", "http://i/simple", "--extra-index-url", "http://e/simple",
		"--trusted-host", "i", "--find-links", "/w"},
		pipArgs(mode.PipConfig{IndexURL: "http://i/simple", ExtraIndexURL: []string{"http://e/simple"}, TrustedHost: []string{"i"}, FindLinks: []string{"/w"}}))
	assert.Equal(t, []string{"--disable-pip-version-check", "--no-index", "--find-links", "/w"},
		pipArgs(mode.PipConfig{IndexURL: "http://i/simple", NoIndex: true, FindLinks: []string{"/w"}}))
}

func TestPipSource(t *testing.T) {
	env := mode.Env{Workdir: "/wd"}
	src, h, ed := pipSource(env, map[string]any{"url": "https://github.com/o/r.git",
		"vcs_info": map[string]any{"vcs": "git", "commit_id": "abc123", "requested_revision": "main"}}, nil)
	assert.Equal(t, "git+https://github.com/o/r.git@abc123", src)
	assert.Empty(t, h)
	assert.False(t, ed)
	src, h, _ = pipSource(env, map[string]any{"url": "file:///wd/wheels/a-1.0-py3-none-any.whl",
		"archive_info": map[string]any{"hash": "sha256=ff", "hashes": map[string]any{"sha256": "ff"}}}, nil)
	assert.Equal(t, "wheels/a-1.0-py3-none-any.whl", src)
	assert.Equal(t, []string{"sha256:ff"}, h)
	src, _, ed = pipSource(env, map[string]any{"url": "file:///wd/src/pkg", "dir_info": map[string]any{"editable": true}}, nil)
	assert.Equal(t, "src/pkg", src)
	assert.True(t, ed)
	assert.Equal(t, "-e ./src/pkg", requirementLine(mode.LockedPackage{Name: "pkg", Source: src, Editable: true}))
	src, _, _ = pipSource(env, map[string]any{"url": "https://files/x-1.0.tar.gz", "archive_info": map[string]any{}}, nil)
	assert.Equal(t, "https://files/x-1.0.tar.gz", src)
	assert.Equal(t, "x @ https://files/x-1.0.tar.gz", requirementLine(mode.LockedPackage{Name: "x", Source: src}))
}

// TestRunKillsProcessGroup: cancelling a call kills the tool and its children.
func TestRunKillsProcessGroup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := run(ctx, nil, []string{"/bin/sh", "-c", "sleep 60 & sleep 60; wait"}, runOpts{})
	require.Error(t, err)
	assert.Less(t, time.Since(start), 10*time.Second, "the child sleep holding stdout was killed too")
	var e *mode.Error
	require.ErrorAs(t, toolError("x", result{}, err), &e)
	assert.Contains(t, e.Message, "interrupted")
}

func TestCheckCondaEnvFileNull(t *testing.T) {
	// "dependencies:" with nothing after it is a null, which conda accepts.
	dir := t.TempDir()
	writeFile(t, dir+"/e.yml", "name: x\ndependencies:\n")
	assert.NoError(t, checkCondaEnvFile(dir+"/e.yml", "e.yml"))
}
