package main_test

// End-to-end test of `runtime build --include-editable`: editable installs
// are packed as regular files, so the restored environment imports them
// from its own site-packages, with no path of the build machine left.
// Helpers here are prefixed with ed.

import (
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

// edBackend is a minimal PEP 517/660 build backend (no setuptools, no
// network). STYLE "pth" makes an editable wheel whose .pth lists the project
// folder (like hatchling, flit, setuptools' compat mode); STYLE "finder" one
// whose .pth imports a setuptools-like __editable___*_finder module holding
// MAPPING = {name: path} (setuptools' default for flat layouts).
const edBackend = `import base64, hashlib, os, zipfile

NAME, VERSION, STYLE = %q, "0.1", %q
DIST = NAME + "-" + VERSION + ".dist-info"
META = "Metadata-Version: 2.1\nName: " + NAME + "\nVersion: " + VERSION + "\n"
WHEEL = "Wheel-Version: 1.0\nGenerator: edbackend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
FINDER = "__editable___" + NAME + "_0_1_finder"
FINDER_CODE = '''import sys
from importlib.machinery import PathFinder
MAPPING = %%r
NAMESPACES = {}


class _EditableFinder:
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname not in MAPPING:
            return None
        return PathFinder.find_spec(fullname, [os.path.dirname(MAPPING[fullname])])


import os


def install():
    if _EditableFinder not in sys.meta_path:
        sys.meta_path.append(_EditableFinder)
'''


def get_requires_for_build_wheel(config_settings=None):
    return []


get_requires_for_build_editable = get_requires_for_build_wheel


def _wheel(wheel_directory, files):
    name = NAME + "-" + VERSION + "-py3-none-any.whl"
    files = dict(files)
    files[DIST + "/METADATA"] = META
    files[DIST + "/WHEEL"] = WHEEL
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for path, text in sorted(files.items()):
            data = text.encode()
            z.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(path + ",sha256=" + digest + "," + str(len(data)))
        record.append(DIST + "/RECORD,,")
        z.writestr(DIST + "/RECORD", "\n".join(record) + "\n")
    return name


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    here = os.path.abspath(".")
    if STYLE == "pth":
        return _wheel(wheel_directory, {"__editable__." + NAME + ".pth": here + "\n"})
    mapping = {NAME: os.path.join(here, NAME), NAME + "mod": os.path.join(here, NAME + "mod.py")}
    return _wheel(wheel_directory, {
        "__editable__." + NAME + "-" + VERSION + ".pth": "import " + FINDER + "; " + FINDER + ".install()\n",
        FINDER + ".py": FINDER_CODE %% mapping,
    })


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, {NAME + "/__init__.py": open(NAME + "/__init__.py").read()})
`

// edProject writes a project at dir whose editable install provides the
// package name (with a data file and a subpackage) and, in the finder
// style, the module name+"mod".
func edProject(t *testing.T, dir, name, style string) {
	t.Helper()
	write(t, filepath.Join(dir, "pyproject.toml"), "[build-system]\nrequires = []\nbuild-backend = \"edbackend\"\nbackend-path = [\".\"]\n")
	write(t, filepath.Join(dir, "edbackend.py"), fmt.Sprintf(edBackend, name, style))
	write(t, filepath.Join(dir, name, "__init__.py"), "import os\nHERE = os.path.dirname(__file__)\nVALUE = 'v1'\n")
	write(t, filepath.Join(dir, name, "data.txt"), "payload of "+name+"\n")
	write(t, filepath.Join(dir, name, "sub", "__init__.py"), "SUB = 'sub of "+name+"'\n")
	if style == "finder" {
		write(t, filepath.Join(dir, name+"mod.py"), "MOD = 'module of "+name+"'\n")
		// Not a top-level module of the distribution: never packed.
		write(t, filepath.Join(dir, "setup.py"), "raise SystemExit('not used')\n")
	}
}

// edPip runs the environment's pip offline.
func edPip(t *testing.T, s *rsSandbox, prefix, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(prefix, "bin", "python"), append([]string{"-m", "pip"}, args...)...)
	cmd.Dir = dir
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "pip %v:\n%s", args, out)
	return string(out)
}

func TestBuildIncludeEditableRestore(t *testing.T) {
	t.Parallel()
	testpy.RequirePython(t, rsPython)
	root := t.TempDir()
	builder := rsNewSandbox(t, filepath.Join(root, "builder"))
	wd := filepath.Join(root, "build machine", "ed-src")
	builder.ok("", "runtime", "create", "--name", "ed-rt", "--python", rsPython, wd)
	require.NoError(t, os.WriteFile(filepath.Join(wd, "requirements.txt"), nil, 0o644))
	builder.ok("", "runtime", "build", wd)
	prefix := filepath.Join(wd, ".starwhale", "venv")

	// Two editable installs from outside the workdir: a .pth that lists the
	// project folder, and a finder module that maps names to paths.
	projects := filepath.Join(root, "build machine", "projects")
	edProject(t, filepath.Join(projects, "pth-proj"), "edpkg", "pth")
	edProject(t, filepath.Join(projects, "finder-proj"), "edfind", "finder")
	for _, p := range []string{"pth-proj", "finder-proj"} {
		edPip(t, builder, prefix, wd, "install", "--no-index", "--no-build-isolation", "-e", filepath.Join(projects, p))
	}
	r := builder.ok("", "runtime", "run", wd, "--", "python", "-c", "import edpkg, edfind, edfindmod; print(edpkg.__file__); print(edfind.__file__)")
	require.Contains(t, r.stdout, filepath.Join(projects, "pth-proj", "edpkg", "__init__.py"), "the editable installs work")
	require.Contains(t, r.stdout, filepath.Join(projects, "finder-proj", "edfind", "__init__.py"))

	// A plain build refuses, naming the package.
	f := builder.fail("", "runtime", "build", wd)
	assert.Contains(t, f.stderr, "editable")
	assert.True(t, strings.Contains(f.stderr, "edfind") || strings.Contains(f.stderr, "edpkg"), f.stderr)
	assert.Contains(t, f.stderr, "--include-editable")

	// --include-editable packs the source trees into the packages' layers.
	built := stJSON[stBuild](t, builder.ok("", "-o", "json", "runtime", "build", "--include-editable", wd).stdout)
	swrt := filepath.Join(root, "ed-rt.swrt")
	builder.ok("", "runtime", "copy", "ed-rt/version/"+built.Version, swrt)
	m := rsReadManifest(t, swrt)
	again := stJSON[stBuild](t, builder.ok("", "-o", "json", "runtime", "build", "--include-editable", wd).stdout)
	assert.Equal(t, built.Version, again.Version, "reproducible")

	// The source trees go away; building them now fails naming what is gone.
	moved := projects + "-moved"
	require.NoError(t, os.Rename(projects, moved))
	f = builder.fail("", "runtime", "build", "--include-editable", wd)
	assert.Contains(t, f.stderr, "does not exist")

	// Restored on another machine, the packages import from the restored
	// site-packages.
	other := rsNewSandbox(t, filepath.Join(t.TempDir(), "other machine"))
	target := filepath.Join(t.TempDir(), "restored here", "ed")
	res := other.restoreJSON(swrt, "--target-dir", target)
	assert.Equal(t, "layers", res.Path)
	rprefix := filepath.Join(target, ".starwhale", "venv")
	site := filepath.Join(rprefix, "lib", "python"+rsPython, "site-packages")
	code := "import edpkg, edpkg.sub, edfind, edfind.sub, edfindmod, os\n" +
		"print(edpkg.__file__)\nprint(edfind.__file__)\nprint(edfindmod.__file__)\n" +
		"print(open(os.path.join(edpkg.HERE, 'data.txt')).read().strip())\n" +
		"print(edpkg.sub.SUB, '|', edfind.sub.SUB, '|', edfindmod.MOD)\n"
	r = other.ok(t.TempDir(), "runtime", "run", target, "--", "python", "-c", code)
	assert.Contains(t, r.stdout, filepath.Join(site, "edpkg", "__init__.py")+"\n")
	assert.Contains(t, r.stdout, filepath.Join(site, "edfind", "__init__.py")+"\n")
	assert.Contains(t, r.stdout, filepath.Join(site, "edfindmod.py")+"\n")
	assert.Contains(t, r.stdout, "payload of edpkg\n")
	assert.Contains(t, r.stdout, "sub of edpkg | sub of edfind | module of edfind\n")

	// What pointed at the source trees is gone; the build backends, setup.py
	// and the projects' metadata were not packed.
	for _, gone := range []string{"__editable__.edpkg.pth", "__editable__.edfind-0.1.pth", "__editable___edfind_0_1_finder.py",
		"edbackend.py", "setup.py", "pyproject.toml", "edpkg-0.1.dist-info/direct_url.json", "edfind-0.1.dist-info/direct_url.json"} {
		assert.NoFileExists(t, filepath.Join(site, gone))
	}
	assert.FileExists(t, filepath.Join(site, "edpkg-0.1.dist-info", "METADATA"))
	// No path of the build workdir or home nor a placeholder anywhere in
	// the restored folder, and no path of the projects in the environment
	// (the lock still says where the editable installs came from).
	skip := map[string]bool{}
	if m.Relocation != nil {
		for _, b := range m.Relocation.BinaryFiles {
			skip[filepath.ToSlash(filepath.Join(".starwhale", "venv", b))] = true
		}
	}
	hits := rsGrep(t, target, skip, wd, builder.home, "/__swcli_")
	hits = append(hits, rsGrep(t, rprefix, nil, projects)...)
	assert.Empty(t, hits, "paths of the build machine left after restore")

	// The restored environment is a regular one: its lock has no editable.
	r = other.ok(t.TempDir(), "runtime", "run", target, "--", "python", "-m", "pip", "list", "--format=freeze", "--editable")
	assert.NotContains(t, r.stdout, "edpkg")

	// Back in place, a changed source file makes a new version.
	require.NoError(t, os.Rename(moved, projects))
	write(t, filepath.Join(projects, "pth-proj", "edpkg", "__init__.py"), "import os\nHERE = os.path.dirname(__file__)\nVALUE = 'v2'\n")
	v2 := stJSON[stBuild](t, builder.ok("", "-o", "json", "runtime", "build", "--include-editable", wd).stdout)
	assert.NotEqual(t, built.Version, v2.Version, "a changed source file changes the version")
	target2 := filepath.Join(t.TempDir(), "v2")
	swrt2 := filepath.Join(root, "ed-rt-v2.swrt")
	builder.ok("", "runtime", "copy", "ed-rt/version/"+v2.Version, swrt2)
	other.restoreJSON(swrt2, "--target-dir", target2)
	r = other.ok(t.TempDir(), "runtime", "run", target2, "--", "python", "-c", "import edpkg; print(edpkg.VALUE)")
	assert.Equal(t, "v2\n", r.stdout)
}
