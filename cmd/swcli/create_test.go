package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/sdk/testpy"
)

// The shared runtime: seed form written by create --name, a wheel installed
// from a folder through requirements.txt, Python pythons()[0].
func TestCreateSeedFromFolder(t *testing.T) {
	t.Parallel()
	f := sharedRuntime(t)
	c := newCLI(t)
	spec, err := os.ReadFile(filepath.Join(f.wd, "runtime.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(spec), "name: "+fixtureName)
	assert.Contains(t, string(spec), "mode: venv")
	assert.Contains(t, string(spec), f.python)

	out := c.py(f.wd, "import sys, tiny_folder; print(sys.prefix); print('%d.%d' % sys.version_info[:2]); print(tiny_folder.__version__)")
	assert.Equal(t, []string{f.prefix, f.python, "1.0"}, strings.Split(out, "\n"))
}

// A second Python version, the extended form, and a wheel from a PEP 503
// index on 127.0.0.1 (configs.pip.index_url, extra_index_url, trusted_host)
// plus a local
// wheel (dependencies: wheels) and a pip requirement line that is a .whl path.
func TestCreateExtendedFromIndex(t *testing.T) {
	t.Parallel()
	py := pythons(t)[1]
	c := newCLI(t)
	idx := t.TempDir()
	wheel(t, idx, "tiny-index")
	url := testpy.ServeIndex(t, idx)
	extra := t.TempDir()
	wheel(t, extra, "tiny-extra")
	extraURL := testpy.ServeIndex(t, extra)
	wd := t.TempDir()
	local := wheel(t, filepath.Join(wd, "wheels"), "tiny-local")
	wheel(t, filepath.Join(wd, "more"), "tiny-path")
	write(t, filepath.Join(wd, "runtime.yaml"), `name: extended
mode: venv
environment:
  python: "`+py.Version+`"
configs:
  pip:
    index_url: `+url+`
    extra_index_url: [`+extraURL+`]
    trusted_host: [127.0.0.1]
dependencies:
  - pip:
      - tiny-index==1.0
      - tiny-extra
  - wheels:
      - wheels/`+filepath.Base(local)+`
  - requirements.txt
`)
	write(t, filepath.Join(wd, "requirements.txt"), "more/tiny_path-1.0-py3-none-any.whl\n")

	// -o json and flags after the positional argument.
	r := c.ok("runtime", "create", wd, "-o", "json")
	var res map[string]string
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res), r.stdout)
	assert.Equal(t, "extended", res["name"])
	assert.Equal(t, "venv", res["mode"])
	assert.Equal(t, py.Version, res["python"])
	prefix := filepath.Join(wd, ".starwhale", "venv")
	assert.Equal(t, prefix, res["prefix"])

	out := c.py(wd, "import sys, tiny_index, tiny_extra, tiny_local, tiny_path; print(sys.prefix); print('%d.%d' % sys.version_info[:2])")
	assert.Equal(t, []string{prefix, py.Version}, strings.Split(out, "\n"))
	out = c.py(wd, "import tiny_index; print(tiny_index.__file__)")
	assert.True(t, strings.HasPrefix(out, prefix+"/"), out)
}

// pip fails: its error is shown; a fresh workdir gets no runtime.yaml and no
// ready environment; an existing ready environment replaced with --force is
// put back as it was.
func TestCreatePipFailure(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)

	t.Run("fresh", func(t *testing.T) {
		t.Parallel()
		c := newCLI(t)
		wd := t.TempDir()
		write(t, filepath.Join(wd, "requirements.txt"), "--no-index\nno-such-package==9.9\n")
		before := tree(t, wd)
		line := c.fail([]string{"pip install -r requirements.txt failed", "no-such-package"}, "runtime", "create", "--name", "broken", "--python", py.Version, wd)
		assert.Contains(t, line, "No matching distribution", "pip's own error is shown")
		sameTree(t, before, tree(t, wd), "nothing left: no runtime.yaml, no environment, no state")
		c.fail([]string{"runtime.yaml"}, "runtime", "run", wd, "--", "python", "-V")

		r := c.run("--verbose", "runtime", "create", "--name", "broken", "--python", py.Version, wd)
		assert.NotEqual(t, 0, r.code)
		assert.Contains(t, r.stderr, "ERROR: Could not find a version", "--verbose shows pip's output")
	})

	wd := t.TempDir()
	write(t, filepath.Join(wd, "requirements.txt"), "")
	c.ok("runtime", "create", "--name", "good", "--python", py.Version, wd)
	c.fail([]string{"already exists", "--force"}, "runtime", "create", "--name", "good", "--python", py.Version, wd)
	c.fail([]string{"an environment already exists", "--force"}, "runtime", "create", wd)

	marker := failedPipKeepsEnv(t, c, wd, py.Version, "runtime", "create", "--force", wd)

	write(t, filepath.Join(wd, "requirements.txt"), "")
	c.ok("runtime", "create", wd, "--force")
	_, err := os.Stat(marker)
	assert.True(t, os.IsNotExist(err), "--force makes the environment again")
}

func TestRunPassesThrough(t *testing.T) {
	t.Parallel()
	f := sharedRuntime(t)
	c := newCLI(t)

	r := c.run("runtime", "run", f.wd, "--", "python", "-c", "import sys; sys.stderr.write('to stderr\\n'); sys.exit(7)")
	assert.Equal(t, 7, r.code, r.String())
	assert.Equal(t, "to stderr\n", r.stderr, "stderr attached, nothing added")

	r = c.runIn("hello from stdin\n", "runtime", "run", f.wd, "--", "python", "-c", "import sys; print(sys.stdin.read().upper(), end='')")
	assert.Equal(t, 0, r.code, r.String())
	assert.Equal(t, "HELLO FROM STDIN\n", r.stdout)

	// The command's own flags are not swcli's, with or without "--".
	r = c.ok("runtime", "run", f.wd, "python", "-c", "import sys; print(sys.argv[1:])", "-o", "json", "--verbose")
	assert.Equal(t, "['-o', 'json', '--verbose']\n", r.stdout)
	r = c.ok("runtime", "run", "-o", "json", f.wd, "--", "python", "-c", "import sys; print(sys.argv[1:])", "--", "-v")
	assert.Equal(t, "['--', '-v']\n", r.stdout)

	r = c.ok("runtime", "run", f.wd, "--", "sh", "-c", "echo $VIRTUAL_ENV; command -v python")
	assert.Equal(t, f.prefix+"\n"+f.prefix+"/bin/python\n", r.stdout)

	r = c.run("runtime", "run", f.wd, "--", "sh", "-c", "kill -TERM $$")
	assert.Equal(t, 128+15, r.code, "killed by a signal: 128+N")

	line := c.fail([]string{"no-such-command", "not found"}, "runtime", "run", f.wd, "--", "no-such-command")
	assert.NotEmpty(t, line)
	r = c.run("runtime", "run", f.wd, "--", "no-such-command")
	assert.Equal(t, 127, r.code)
}
