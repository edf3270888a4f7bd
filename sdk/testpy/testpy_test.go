package testpy_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/sdk/testpy"
)

func TestFindPythons(t *testing.T) {
	ps := testpy.FindPythons()
	if len(ps) == 0 {
		t.Skip("no Python 3 on this machine")
	}
	seen := map[string]bool{}
	for i, p := range ps {
		assert.False(t, seen[p.Version], "duplicate %s", p.Version)
		seen[p.Version] = true
		assert.True(t, strings.HasPrefix(p.Patch, p.Version+"."), p.Patch)
		assert.FileExists(t, p.Path)
		if i > 0 {
			assert.NotEqual(t, ps[i-1].Version, p.Version)
		}
		q, ok := testpy.FindPython(p.Version)
		assert.True(t, ok)
		assert.Equal(t, p, q)
	}
	_, ok := testpy.FindPython("2.99")
	assert.False(t, ok)
}

func TestRequirePythonSkips(t *testing.T) {
	var msg string
	ok := t.Run("missing", func(t *testing.T) {
		defer func() { msg = "ran" }()
		testpy.RequirePython(t, "3.99")
		t.Fatal("should have skipped")
	})
	assert.True(t, ok)
	assert.Equal(t, "ran", msg)
}

func TestBuildWheel(t *testing.T) {
	dir := t.TempDir()
	w := testpy.Wheel{
		Name: "My.Pkg-x", Version: "1.0.post1",
		Requires:       []string{"other>=1"},
		ConsoleScripts: map[string]string{"my-tool": "my_pkg_x:main"},
		Large:          map[string]int64{"my_pkg_x/blob.bin": 100000},
	}
	p, err := testpy.BuildWheel(dir, w)
	require.NoError(t, err)
	assert.Equal(t, "My_Pkg_x-1.0.post1-py3-none-any.whl", filepath.Base(p))
	b1, err := os.ReadFile(p)
	require.NoError(t, err)
	p2, err := testpy.BuildWheel(t.TempDir(), w)
	require.NoError(t, err)
	b2, err := os.ReadFile(p2)
	require.NoError(t, err)
	assert.Equal(t, b1, b2, "wheel bytes must be deterministic")

	zr, err := zip.NewReader(bytes.NewReader(b1), int64(len(b1)))
	require.NoError(t, err)
	content := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		content[f.Name] = b
		if f.Name == "my_pkg_x/blob.bin" {
			assert.Equal(t, zip.Store, f.Method)
		}
	}
	di := "My_Pkg_x-1.0.post1.dist-info/"
	assert.Contains(t, string(content[di+"METADATA"]), "Metadata-Version: 2.1\nName: My.Pkg-x\nVersion: 1.0.post1\nRequires-Dist: other>=1\n")
	assert.Contains(t, string(content[di+"WHEEL"]), "Root-Is-Purelib: true")
	assert.Contains(t, string(content[di+"entry_points.txt"]), "my-tool = my_pkg_x:main")
	assert.Contains(t, string(content["my_pkg_x/__init__.py"]), `__version__ = "1.0.post1"`)
	assert.Len(t, content["my_pkg_x/blob.bin"], 100000)
	// RECORD covers every file with a correct hash and size.
	lines := strings.Split(strings.TrimSpace(string(content[di+"RECORD"])), "\n")
	assert.Len(t, lines, len(content))
	for _, l := range lines {
		parts := strings.Split(l, ",")
		require.Len(t, parts, 3, l)
		if parts[0] == di+"RECORD" {
			assert.Equal(t, "", parts[1])
			continue
		}
		sum := sha256.Sum256(content[parts[0]])
		assert.Equal(t, "sha256="+base64.RawURLEncoding.EncodeToString(sum[:]), parts[1], parts[0])
	}
}

func TestServeIndex(t *testing.T) {
	dir := t.TempDir()
	_, err := testpy.BuildWheel(dir, testpy.Wheel{Name: "Foo_Bar", Version: "2.0"})
	require.NoError(t, err)
	u := testpy.ServeIndex(t, dir)
	body := get(t, u)
	assert.Contains(t, body, `href="/simple/foo-bar/"`)
	body = get(t, u+"foo-bar/")
	assert.Contains(t, body, "Foo_Bar-2.0-py3-none-any.whl#sha256=")
	body = get(t, u+"Foo.Bar/")
	assert.Contains(t, body, "Foo_Bar-2.0-py3-none-any.whl#sha256=")
	resp, err := http.Get(u + "nope/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 404, resp.StatusCode)
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, u)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// TestPipInstall installs built wheels with real pip into a real venv, from a
// folder and from the served index, and runs the console script.
func TestPipInstall(t *testing.T) {
	py := testpy.AnyPythons(t, 1)[0]
	wheels := t.TempDir()
	_, err := testpy.BuildWheel(wheels, testpy.Wheel{Name: "alpha", Version: "1.0", Requires: []string{"beta==2.0"},
		ConsoleScripts: map[string]string{"alpha-run": "alpha:main"}})
	require.NoError(t, err)
	_, err = testpy.BuildWheel(wheels, testpy.Wheel{Name: "beta", Version: "2.0"})
	require.NoError(t, err)

	for _, from := range []string{"folder", "index"} {
		t.Run(from, func(t *testing.T) {
			venv := filepath.Join(t.TempDir(), "venv")
			run(t, py.Path, "-m", "venv", venv)
			args := []string{"-m", "pip", "install", "--disable-pip-version-check", "--no-input"}
			if from == "folder" {
				args = append(args, "--no-index", "--find-links", wheels)
			} else {
				args = append(args, "--index-url", testpy.ServeIndex(t, wheels))
			}
			run(t, filepath.Join(venv, "bin", "python"), append(args, "alpha")...)
			out := run(t, filepath.Join(venv, "bin", "alpha-run"))
			assert.Contains(t, out, "alpha 1.0 "+venv)
			out = run(t, filepath.Join(venv, "bin", "python"), "-c", "import beta; print(beta.__version__)")
			assert.Equal(t, "2.0", strings.TrimSpace(out))
		})
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "PIP_NO_CACHE_DIR=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %v:\n%s", name, args, out)
	return string(out)
}

// TestNewestVenvPython picks the newest interpreter with venv and pip, or
// the one asked for, and names what it found when there is none.
func TestNewestVenvPython(t *testing.T) {
	want := testpy.AnyPythons(t, 1)[0] // the newest of 3.8 and later first
	p, err := testpy.NewestVenvPython("")
	require.NoError(t, err)
	assert.Equal(t, want, p)
	q, err := testpy.NewestVenvPython(want.Version)
	require.NoError(t, err)
	assert.Equal(t, want, q)
	_, err = testpy.NewestVenvPython("3.99")
	assert.ErrorContains(t, err, "no Python 3.99 with venv and ensurepip; found: "+want.Version)
}
