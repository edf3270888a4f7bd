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
)

func TestVersionAndHelp(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	r := c.ok("--version")
	assert.Regexp(t, `^swcli version \S+\n$`, r.stdout)
	r = c.ok("--help")
	for _, w := range []string{"runtime", "plugin", "--output", "--verbose", "--version"} {
		assert.Contains(t, r.stdout, w)
	}
	r = c.ok("runtime", "--help")
	for _, w := range []string{"create", "activate", "run"} {
		assert.Contains(t, r.stdout, w)
	}
	c.fail([]string{"--output", "yaml", "allowed: text, json"}, "-o", "yaml", "plugin", "list")
}

type pluginRow struct {
	Name, Kind, Version, Path, SHA256, Status, Source, Error string
}

func TestPluginListAndInfo(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	r := c.ok("plugin", "list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.GreaterOrEqual(t, len(lines), 3, r.stdout)
	assert.Regexp(t, `^NAME\s+KIND\s+VERSION\s+STATUS\s+PATH$`, lines[0])
	assert.Regexp(t, `(?m)^venv\s+mode\s+\S+\s+ok\s+/\S+/swcli-plugin-venv$`, r.stdout)
	assert.Regexp(t, `(?m)^conda\s+mode\s+\S+\s+ok\s+`, r.stdout)

	// -o json before or after the command.
	for _, args := range [][]string{{"-o", "json", "plugin", "list"}, {"plugin", "list", "-o", "json"}, {"plugin", "--output=json", "list"}} {
		r = c.ok(args...)
		var rows []pluginRow
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &rows), "%v: %s", args, r.stdout)
		var venv *pluginRow
		for i := range rows {
			if rows[i].Name == "venv" {
				venv = &rows[i]
			}
		}
		require.NotNil(t, venv, r.stdout)
		assert.Equal(t, "mode", venv.Kind)
		assert.Equal(t, "ok", venv.Status)
		assert.NotEmpty(t, venv.Version)
		sum, err := plugin.FileSHA256(venv.Path)
		require.NoError(t, err)
		assert.Equal(t, sum, venv.SHA256, "the listed sha256 is the binary's")
		// every field the issue names is present
		var raw []map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &raw))
		for _, k := range []string{"name", "kind", "version", "path", "sha256", "status"} {
			assert.Contains(t, raw[0], k)
		}
	}

	r = c.ok("plugin", "info", "venv")
	assert.Regexp(t, `(?m)^name\s+venv$`, r.stdout)
	assert.Regexp(t, `(?m)^capabilities\s+relocate, include-editable$`, r.stdout)
	r = c.ok("plugin", "info", "venv", "-o", "json")
	var row pluginRow
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &row))
	assert.Equal(t, "ok", row.Status)

	c.fail([]string{`no plugin named "poetry"`, "known: conda, venv"}, "plugin", "info", "poetry")
}

// A plugins.yaml named by SW_PLUGINS whose checksum does not match its
// binary: swcli refuses to run the plugin and names the file.
func TestPluginChecksumMismatch(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	bin := filepath.Join(filepath.Dir(c.bin), "swcli-plugin-venv")
	list := filepath.Join(t.TempDir(), "plugins.yaml")
	write(t, list, "plugins:\n  - name: venv\n    kind: mode\n    command: "+bin+"\n    sha256: "+strings.Repeat("ab", 32)+"\n")
	c.setenv("SW_PLUGINS=" + list)

	line := c.fail([]string{bin, "does not match the sha256", "refusing"}, "plugin", "info", "venv")
	assert.Contains(t, line, `plugin "venv"`)

	r := c.ok("plugin", "list", "-o", "json")
	var rows []pluginRow
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rows))
	for _, row := range rows {
		if row.Name == "venv" {
			assert.Equal(t, "error", row.Status)
			assert.Contains(t, row.Error, bin)
			assert.Equal(t, list, row.Source)
		}
	}

	wd := filepath.Join(t.TempDir(), "wd")
	c.fail([]string{"refusing", bin}, "runtime", "create", "--name", "x", "--python", "3.9", wd)
	_, err := os.Stat(wd)
	assert.True(t, os.IsNotExist(err), "a refused plugin changes nothing")
}

func TestPluginsYAMLErrors(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	list := filepath.Join(t.TempDir(), "plugins.yaml")
	write(t, list, "plugins:\n  - name: venv\n    kind: flavour\n")
	c.setenv("SW_PLUGINS=" + list)
	c.fail([]string{list + ":2:", `kind "flavour"`}, "plugin", "list")
	c.setenv("SW_PLUGINS=" + filepath.Join(t.TempDir(), "missing.yaml"))
	c.fail([]string{"missing.yaml", "SW_PLUGINS"}, "plugin", "list")
}

func TestVerboseAndLogLevel(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	r := c.ok("plugin", "info", "venv")
	assert.Empty(t, r.stderr, "quiet by default")
	for _, args := range [][]string{{"--verbose", "plugin", "info", "venv"}, {"plugin", "info", "venv", "-v"}} {
		r = c.ok(args...)
		assert.Contains(t, r.stderr, "[DEBUG] swcli.venv", "plugin host logs with %v", args)
		assert.Contains(t, r.stderr, "plugin started")
	}
	c.setenv("SW_LOG_LEVEL=debug")
	r = c.ok("plugin", "info", "venv")
	assert.Contains(t, r.stderr, "[DEBUG] swcli.venv")
}

// Every bad input: one clear line on stderr, a non-zero exit, and nothing
// changed (neither the workdir nor the storage root).
func TestBadInput(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "afile")
	write(t, file, "x")
	cases := []struct {
		name  string
		yaml  string   // runtime.yaml to write ("" for none)
		args  []string // after "runtime create"; WD is replaced by the workdir
		wants []string
	}{
		{"malformed yaml", "name: x\nmode: venv\n  python_version: \"3.9\"\n", []string{"WD"},
			[]string{"runtime.yaml:3", "invalid YAML"}},
		{"unknown key", "name: x\nflavour: 1\n", []string{"WD"},
			[]string{"runtime.yaml:2:1:", "flavour: unknown key; allowed:"}},
		{"wrong type", "name: x\npython_version: [3]\n", []string{"WD"},
			[]string{"runtime.yaml:2:17:", "python_version: expected a string"}},
		{"bad name in yaml", "name: Bad_Name\n", []string{"WD"},
			[]string{"runtime.yaml:1:7:", "not a valid runtime name"}},
		{"unknown mode in yaml", "name: x\nmode: docker\n", []string{"WD"},
			[]string{`no mode plugin named "docker"; known: conda, venv`}},
		{"bad mode in yaml", "name: x\nmode: Docker\n", []string{"WD"},
			[]string{"runtime.yaml:2:7:", `"Docker" is not a mode; allowed: venv, conda, or the name of an installed mode plugin`}},
		{"python not X.Y in yaml", "name: x\npython_version: \"3\"\n", []string{"WD"},
			[]string{"runtime.yaml:2:17:", "not a Python version"}},
		{"bad name flag", "", []string{"--name", "Bad_Name", "WD"},
			[]string{"--name", `"Bad_Name" is not a valid runtime name`}},
		{"unknown mode flag", "", []string{"--name", "x", "--mode", "docker", "WD"},
			[]string{`no mode plugin named "docker"; known: conda, venv`}},
		{"bad mode flag", "", []string{"--name", "x", "--mode", "../docker", "WD"},
			[]string{`--mode "../docker" is not a mode; allowed: venv, conda, or the name of an installed mode plugin`}},
		{"python not X.Y flag", "", []string{"WD", "--name", "x", "--python", "3.9.1"},
			[]string{"--python", `"3.9.1" is not a Python version`}},
		{"no interpreter", "", []string{"--name", "x", "--python", "3.99", "WD"},
			[]string{"no Python 3.99 found; found: ", "3.", "--python /path/to/python"}},
		{"no interpreter in yaml", "name: x\npython_version: \"3.98\"\n", []string{"WD"},
			[]string{"no Python 3.98 found; found: "}},
		{"workdir is a file", "", []string{"--name", "x", file},
			[]string{"afile is a file"}},
		{"no runtime.yaml", "", []string{"WD"},
			[]string{"has no runtime.yaml", "--name"}},
		{"missing requirements file", "name: x\npip_req: reqs.txt\n", []string{"WD"},
			[]string{"reqs.txt"}},
		{"two workdirs", "", []string{"--name", "x", "WD", "WD"},
			[]string{"give one WORKDIR"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCLI(t)
			wd := filepath.Join(t.TempDir(), "wd")
			require.NoError(t, os.MkdirAll(wd, 0o755))
			if tc.yaml != "" {
				write(t, filepath.Join(wd, "runtime.yaml"), tc.yaml)
			}
			args := []string{"runtime", "create"}
			for _, a := range tc.args {
				if a == "WD" {
					a = wd
				}
				args = append(args, a)
			}
			before, beforeHome := tree(t, wd), tree(t, c.home)
			c.fail(tc.wants, args...)
			sameTree(t, before, tree(t, wd), "workdir unchanged")
			assert.Equal(t, keys(beforeHome), keys(tree(t, c.home)), "HOME and storage unchanged")
		})
	}
}

func TestBadInputOtherCommands(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	empty := t.TempDir()
	c.fail([]string{"runtime.yaml: does not exist"}, "runtime", "run", empty, "--", "python", "-V")
	write(t, filepath.Join(empty, "runtime.yaml"), "name: x\n")
	c.fail([]string{"has no venv environment", "swcli runtime create"}, "runtime", "activate", empty, "--print")
	c.fail([]string{"nothing to run"}, "runtime", "run", empty)
	c.fail([]string{"give one WORKDIR"}, "runtime", "activate")
	c.fail([]string{`--shell "tcsh" is not supported; allowed: bash, zsh, fish, sh`}, "runtime", "activate", empty, "--shell", "tcsh")
	file := filepath.Join(empty, "afile")
	write(t, file, "x")
	c.fail([]string{"afile"}, "runtime", "run", file, "--", "true")
}

// A plugin that crashes in the middle of a call: swcli names it, exits
// non-zero, leaves nothing running and the workdir as it was.
func TestPluginCrash(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "swcli-plugin-crashmode")
	build := exec.Command("go", "build", "-o", bin, "./core/plugin/testdata/crashmode")
	build.Dir = filepath.Join("..", "..")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	list := filepath.Join(dir, "plugins.yaml")
	write(t, list, "plugins:\n  - name: venv\n    kind: mode\n    command: ./swcli-plugin-crashmode\n")
	c.setenv("SW_PLUGINS=" + list)

	wd := filepath.Join(t.TempDir(), "wd")
	write(t, filepath.Join(wd, "runtime.yaml"), "name: crash\npython_version: \"3.9\"\ndependencies:\n  - pip: [anything]\n")
	before := tree(t, wd)
	line := c.fail([]string{`plugin "venv"`, bin, "crashed"}, "runtime", "create", wd)
	assert.NotEmpty(t, line)
	sameTree(t, before, tree(t, wd), "a crashed plugin leaves the workdir as it was")
}
