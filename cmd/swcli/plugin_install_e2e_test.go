package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/plugin"
	"github.com/swcli/swcli/sdk/testpy"
)

// buildTargetPlugin builds the example third-party mode of sdk/examples into
// dir, as a plugin author would.
func buildTargetPlugin(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "swcli-plugin-target")
	build := exec.Command("go", "build", "-o", bin, "./sdk/examples/targetmode/cmd/swcli-plugin-target")
	build.Dir = filepath.Join("..", "..")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

type listedPlugin struct {
	Name, Kind, Version, Path, SHA256, Status, Source, Error string
}

func (c *cli) pluginList() map[string]listedPlugin {
	c.t.Helper()
	r := c.ok("plugin", "list", "-o", "json")
	var rows []listedPlugin
	require.NoError(c.t, json.Unmarshal([]byte(r.stdout), &rows), r.stdout)
	out := map[string]listedPlugin{}
	for _, p := range rows {
		out[p.Name] = p
	}
	return out
}

// A third-party mode plugin, end to end: built from sdk/examples, installed
// with `swcli plugin install` into the user's plugins.yaml, listed, used by
// `runtime create --mode target` and `runtime run`, then removed.
func TestPluginInstallTargetMode(t *testing.T) {
	t.Parallel()
	py := testpy.AnyPythons(t, 1)[0]
	c := newCLI(t)
	bin := buildTargetPlugin(t, t.TempDir())
	sum, err := plugin.FileSHA256(bin)
	require.NoError(t, err)

	// Install, through a relative path: the entry holds the absolute one.
	cmd := c.command("plugin", "install", "./"+filepath.Base(bin), "-o", "json")
	cmd.Dir = filepath.Dir(bin)
	out, err := cmd.Output()
	require.NoError(t, err, "%s", out)
	var res plugin.InstallResult
	require.NoError(t, json.Unmarshal(out, &res), "%s", out)
	userFile := filepath.Join(c.home, "config", "plugins.yaml")
	assert.Equal(t, plugin.InstallResult{Name: "target", Kind: "mode", Version: res.Version, Path: bin, SHA256: sum,
		File: userFile, Protocol: []int{1}, Capabilities: res.Capabilities}, res)
	assert.NotEmpty(t, res.Version)
	entries, err := plugin.ReadFile(userFile)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, bin, entries[0].Command)
	assert.Equal(t, sum, entries[0].SHA256)

	listed := c.pluginList()
	require.Contains(t, listed, "target")
	assert.Equal(t, "ok", listed["target"].Status, listed["target"].Error)
	assert.Equal(t, userFile, listed["target"].Source)
	assert.Equal(t, "ok", listed["venv"].Status, "built-in plugins still listed")

	// Installing again replaces the entry.
	r := c.ok("plugin", "install", bin)
	assert.Contains(t, r.stdout, "replaced mode plugin target")
	entries, _ = plugin.ReadFile(userFile)
	assert.Len(t, entries, 1)

	// runtime create --mode target: a folder of packages installed with
	// pip --target, and a console script.
	wd := filepath.Join(t.TempDir(), "work dir")
	_, err = testpy.BuildWheel(filepath.Join(wd, "wheels"), testpy.Wheel{Name: "tiny-target", Version: "1.0",
		ConsoleScripts: map[string]string{"tiny-target": "tiny_target:main"}})
	require.NoError(t, err)
	write(t, filepath.Join(wd, "requirements.txt"), "--no-index\n--find-links wheels\ntiny-target==1.0\n")
	r = c.ok("runtime", "create", "--mode", "target", "--name", "tgt", "--python", py.Version, wd, "-o", "json")
	var cr map[string]string
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &cr), r.stdout)
	prefix := filepath.Join(wd, ".starwhale", "target")
	assert.Equal(t, "target", cr["mode"])
	assert.Equal(t, prefix, cr["prefix"])
	spec, err := os.ReadFile(filepath.Join(wd, "runtime.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(spec), "mode: target")

	got := c.py(wd, "import sys, tiny_target; print('%d.%d' % sys.version_info[:2]); print(tiny_target.__file__)")
	assert.Equal(t, []string{py.Version, filepath.Join(prefix, "site-packages", "tiny_target", "__init__.py")}, strings.Split(got, "\n"))
	r = c.ok("runtime", "run", wd, "--", "tiny-target")
	assert.Contains(t, r.stdout, "tiny-target 1.0 "+filepath.Join(prefix, "site-packages"))

	// Build and restore elsewhere: layers unpacked and relocated by the plugin.
	c.ok("runtime", "build", wd)
	restored := filepath.Join(t.TempDir(), "restored")
	c.ok("runtime", "restore", "tgt", "--target-dir", restored)
	r = c.ok("runtime", "run", restored, "--", "tiny-target")
	assert.Contains(t, r.stdout, "tiny-target 1.0 "+filepath.Join(restored, ".starwhale", "target", "site-packages"))

	// Remove: the runtime's mode is no longer served, and says so when it is
	// needed (run only needs the activation recorded at create).
	r = c.ok("plugin", "remove", "target", "-o", "json")
	var rm plugin.RemoveResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rm), r.stdout)
	assert.Equal(t, plugin.RemoveResult{Name: "target", Kind: "mode", Path: bin, File: userFile, Removed: true}, rm)
	assert.NotContains(t, c.pluginList(), "target")
	c.fail([]string{`no mode plugin named "target"; known: conda, venv`}, "runtime", "create", wd, "--force")
	assert.Equal(t, "Python "+py.Patch, strings.TrimSpace(c.ok("runtime", "run", wd, "--", "python", "-V").stdout))
}

// Bad inputs of plugin install and remove: one clear line, non-zero exit,
// and the user's plugins.yaml untouched.
func TestPluginInstallBadInput(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	dir := t.TempDir()
	bin := buildTargetPlugin(t, dir)
	userFile := filepath.Join(c.home, "config", "plugins.yaml")

	script := filepath.Join(dir, "not-a-plugin")
	write(t, script, "#!/bin/sh\necho hello\n")
	require.NoError(t, os.Chmod(script, 0o755))
	plain := filepath.Join(dir, "plain.txt")
	write(t, plain, "x")

	c.fail([]string{script + " is not a swcli plugin: the plugin handshake failed"}, "plugin", "install", script)
	c.fail([]string{"/bin/true is not a swcli plugin: the plugin handshake failed"}, "plugin", "install", "/bin/true")
	c.fail([]string{plain, "is not a swcli plugin: not an executable file"}, "plugin", "install", plain)
	c.fail([]string{"nope", "is not a swcli plugin: no such file"}, "plugin", "install", filepath.Join(dir, "nope"))
	c.fail([]string{`"venv" is the name of a built-in mode plugin`, "--force"}, "plugin", "install", bin, "--name", "venv")
	c.fail([]string{`--name "Bad Name" is not a valid plugin name`}, "plugin", "install", bin, "--name", "Bad Name")
	c.fail([]string{"give one plugin binary PATH"}, "plugin", "install")
	c.fail([]string{`no plugin named "target" in ` + userFile + " (installed there: none)"}, "plugin", "remove", "target")
	c.fail([]string{`no plugin named "venv"`, "venv is built in and cannot be removed"}, "plugin", "remove", "venv")
	c.fail([]string{`no mode plugin named "target"; known: conda, venv`},
		"runtime", "create", "--mode", "target", "--name", "x", filepath.Join(t.TempDir(), "wd"))
	_, err := os.Stat(userFile)
	assert.True(t, os.IsNotExist(err), "nothing written")

	// --force replaces a built-in for this user; remove brings it back.
	c.ok("plugin", "install", bin, "--name", "venv", "--force")
	assert.Equal(t, userFile, c.pluginList()["venv"].Source)
	c.ok("plugin", "remove", "venv")
	assert.NotEqual(t, userFile, c.pluginList()["venv"].Source)

	// A binary changed after install is refused at launch, naming the file.
	copyBin := filepath.Join(dir, "swcli-plugin-mine")
	data, err := os.ReadFile(bin)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(copyBin, data, 0o755))
	c.ok("plugin", "install", copyBin, "--name", "mine")
	require.NoError(t, os.WriteFile(copyBin, append(data, 'x'), 0o755))
	mine := c.pluginList()["mine"]
	assert.Equal(t, "error", mine.Status)
	assert.Contains(t, mine.Error, copyBin+" does not match the sha256")
}
