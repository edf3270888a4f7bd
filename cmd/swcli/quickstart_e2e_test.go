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

	"github.com/swcli/swcli/sdk/testpy"
)

// qsYAML is the runtime.yaml quickstart writes.
func qsYAML(name, mode, py, req string) string {
	return "mode: " + mode + "\nname: " + name + "\npip_req: " + req + "\npython_version: \"" + py + "\"\nstarwhale_version: 0.1.0-dev\n"
}

func qsRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

// TestQuickstartInteractive drives `runtime quickstart` through a real
// pseudo-terminal: each question is asked with its default, a bad answer
// (a bad name, an unknown mode, a Python this machine lacks, a yes/no that
// is neither) is told and asked again, a Python is picked by its number in
// the list of those found, Enter takes the default requirements file, and
// "y" makes the environment with that Python.
func TestQuickstartInteractive(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)
	folder := filepath.Join(c.home, "My Project")
	p := startPty(t, c.command("runtime", "quickstart", folder))
	at := p.expect(0, "Runtime name [my-project]: ")
	p.send("Bad_Name\n")
	at = p.expect(at, `--name "Bad_Name"`)
	at = p.expect(at, "Runtime name [my-project]: ")
	p.send("qs-rt\n")
	at = p.expect(at, "Mode (venv, conda) [venv]: ")
	p.send("mamba\n")
	at = p.expect(at, `--mode "mamba" is not a mode quickstart makes; allowed: venv, conda`)
	at = p.expect(at, "Mode (venv, conda) [venv]: ")
	p.send("\n")
	at = p.expect(at, "Pythons found on this machine:")
	// The list numbers them; find the number of py.
	at = p.expect(at, "Python (a number or X.Y) [")
	list := p.output()
	num := ""
	for _, l := range strings.Split(list, "\n") {
		l = strings.TrimSpace(l)
		if n, rest, ok := strings.Cut(l, ") "); ok && strings.HasPrefix(rest, py.Version+".") {
			num = n
		}
	}
	require.NotEmpty(t, num, "Python %s is listed:\n%s", py.Version, list)
	at = p.expect(at, "]: ")
	p.send("3.99\n")
	at = p.expect(at, "--python 3.99: no Python 3.99 found on this machine")
	at = p.expect(at, "]: ")
	p.send(num + "\n")
	at = p.expect(at, "Requirements file [requirements.txt]: ")
	p.send("\n")
	at = p.expect(at, "Make the environment now? (y/n) [n]: ")
	p.send("maybe\n")
	at = p.expect(at, `answer "maybe"`)
	at = p.expect(at, "[n]: ")
	p.send("y\n")
	p.expect(at, "made the environment in ")
	require.Equal(t, 0, p.wait(), p.output())

	assert.Equal(t, qsYAML("qs-rt", "venv", py.Version, "requirements.txt"), qsRead(t, filepath.Join(folder, "runtime.yaml")))
	assert.Equal(t, "", qsRead(t, filepath.Join(folder, "requirements.txt")))
	out, err := exec.Command(filepath.Join(folder, ".starwhale", "venv", "bin", "python"), "-c", "import sys; print('%d.%d' % sys.version_info[:2])").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, py.Version, strings.TrimSpace(string(out)))
	c.ok("runtime", "build", folder)

	// Ctrl-C at a question stops it, writing nothing.
	other := filepath.Join(c.home, "other")
	p = startPty(t, c.command("runtime", "quickstart", other))
	p.expect(0, "Runtime name [other]: ")
	p.send("\x03")
	assert.Equal(t, 130, p.wait(), p.output())
	_, err = os.Stat(other)
	assert.True(t, os.IsNotExist(err), "an interrupted quickstart writes nothing")
}

// TestQuickstartFlags answers with flags only (stdin is not a terminal): a
// conda runtime naming a requirements file in a subfolder, -y taking every
// default, and --create installing an existing requirements file.
func TestQuickstartFlags(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)

	a := filepath.Join(c.home, "a")
	r := c.ok("-o", "json", "runtime", "quickstart", a, "--name", "qs-conda", "--mode", "conda", "--python", "3.12", "-r", "reqs/dev.txt")
	res := stJSON[map[string]any](t, r.stdout)
	assert.Equal(t, "qs-conda", res["name"])
	assert.Equal(t, true, res["requirements_written"])
	assert.Nil(t, res["prefix"], "no environment without --create")
	assert.Equal(t, qsYAML("qs-conda", "conda", "3.12", "reqs/dev.txt"), qsRead(t, filepath.Join(a, "runtime.yaml")))
	assert.Equal(t, "", qsRead(t, filepath.Join(a, "reqs", "dev.txt")))

	// -y: the name from the folder, venv, and the default Python.
	b := filepath.Join(c.home, "Team Model_2")
	out := c.ok("runtime", "quickstart", "-y", b).stdout
	assert.Contains(t, out, "runtime team-model-2 (venv, Python ")
	assert.Contains(t, out, "make the environment with: swcli runtime create "+b)
	assert.Contains(t, qsRead(t, filepath.Join(b, "runtime.yaml")), "name: team-model-2\npip_req: requirements.txt\n")

	// --create installs the requirements file that is already there; a
	// second quickstart there needs --force.
	wd := filepath.Join(c.home, "wd")
	whl, err := testpy.BuildWheel(filepath.Join(wd, "wheels"), testpy.Wheel{Name: "tiny-q", Version: "1.2"})
	require.NoError(t, err)
	write(t, filepath.Join(wd, "requirements.txt"), "wheels/"+filepath.Base(whl)+"\n")
	var made struct {
		Prefix              string `json:"prefix"`
		RequirementsWritten bool   `json:"requirements_written"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.ok("-o", "json", "runtime", "quickstart", wd, "-n", "qs-made", "--python", py.Version, "-y", "--create").stdout), &made))
	assert.Equal(t, filepath.Join(wd, ".starwhale", "venv"), made.Prefix)
	assert.False(t, made.RequirementsWritten, "the requirements file was there")
	assert.Equal(t, "wheels/"+filepath.Base(whl)+"\n", qsRead(t, filepath.Join(wd, "requirements.txt")), "an existing requirements file is kept")
	assert.Equal(t, "1.2", c.py(wd, "import importlib.metadata as m; print(m.version('tiny-q'))"))
	c.fail([]string{filepath.Join(wd, "runtime.yaml") + " already exists", "--force"}, "runtime", "quickstart", wd, "-y")
	c.ok("runtime", "quickstart", wd, "-y", "-n", "qs-renamed", "--force")
	assert.Contains(t, qsRead(t, filepath.Join(wd, "runtime.yaml")), "name: qs-renamed\n")
}

// TestQuickstartBadInput: each refusal is one line naming the flag and what
// is allowed, and leaves the folder as it was; a failed --create puts back
// what quickstart wrote.
func TestQuickstartBadInput(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)
	fresh := filepath.Join(c.home, "fresh")
	for _, bad := range []struct {
		want []string
		args []string
	}{
		{[]string{"no --name given", "stdin is not a terminal", "pass --name", "-y"}, nil},
		{[]string{"no --mode given", "pass --mode"}, []string{"--name", "x"}},
		{[]string{`--mode "mamba"`, "allowed: venv, conda"}, []string{"--name", "x", "--mode", "mamba"}},
		{[]string{"--python 3.99: no Python 3.99 found on this machine", "found: ", py.Version}, []string{"-y", "--python", "3.99"}},
		{[]string{`--python: "three"`}, []string{"-y", "--python", "three"}},
		{[]string{`--name "Bad_Name"`}, []string{"-y", "--name", "Bad_Name"}},
		{[]string{`--requirements "../outside.txt"`, "inside the folder"}, []string{"-y", "-r", "../outside.txt"}},
		{[]string{"give one FOLDER"}, []string{"-y", fresh}},
	} {
		c.fail(bad.want, append([]string{"runtime", "quickstart", fresh}, bad.args...)...)
		_, err := os.Stat(fresh)
		assert.True(t, os.IsNotExist(err), "nothing written: %v", bad.args)
	}

	// A folder with a runtime.yaml is left alone without --force.
	kept := filepath.Join(c.home, "kept")
	write(t, filepath.Join(kept, "runtime.yaml"), "name: mine\n")
	before := tree(t, kept)
	c.fail([]string{filepath.Join(kept, "runtime.yaml") + " already exists", "pass --force"}, "runtime", "quickstart", kept, "-y")
	sameTree(t, before, tree(t, kept), "a refused quickstart")

	// A create that fails (a requirement pip cannot find) puts back the old
	// runtime.yaml, and leaves no requirements file or folder it made.
	write(t, filepath.Join(kept, "reqs", "r.txt"), "no-such-package-anywhere==1.0\n")
	before = tree(t, kept)
	r := c.run("runtime", "quickstart", kept, "-y", "--force", "--create", "--python", py.Version, "-r", "reqs/r.txt")
	require.NotEqual(t, 0, r.code, r.String())
	sameTree(t, before, tree(t, kept), "a failed --create")
	// Nor a folder it made: the conda mode without conda.
	nc := newCLI(t)
	nc.setenv("PATH=/usr/bin:/bin", "SW_CONDA_EXE=")
	gone := filepath.Join(nc.home, "gone", "deeper")
	nc.fail([]string{"conda mode needs conda"}, "runtime", "quickstart", gone, "-y", "--mode", "conda", "--create", "-r", "reqs/r.txt")
	_, err := os.Stat(filepath.Join(nc.home, "gone"))
	assert.True(t, os.IsNotExist(err), "the folders a failed quickstart made are gone: %v", err)
}
