package pyeditable

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
)

// setuptools 65's finder (editable_wheel._finder_template), abridged.
const finderOld = `import sys
from importlib.machinery import ModuleSpec
from importlib.machinery import all_suffixes as module_suffixes
from importlib.util import spec_from_file_location
from itertools import chain
from pathlib import Path

MAPPING = {'edmod': '/tmp/edx/proj/edmod.py', 'edpkg': '/tmp/edx/proj/edpkg'}
NAMESPACES = {}
PATH_PLACEHOLDER = '__editable___ed_pkg_0_1_finder' + ".__path_hook__"
`

// setuptools >= 69 annotates it; repr() quotes a path with ' in "..." and
// escapes what is not printable.
const finderNew = `from __future__ import annotations
import sys
MAPPING: dict[str, str] = {"it's": "/src/it's", 'ns.pkg': '/src/ns/pkg', 'tab': '/src/t\tb\\x', 'uni': '/src/caf\xe9'}
NAMESPACES: dict[str, list[str]] = {'ns': ['/src/ns']}
`

// the editables library, as hatchling's dev-mode-exact writes it.
const finderEditables = `from editables.redirector import RedirectingFinder as F
F.install()
F.map_module('edpkg', '/proj/src/edpkg/__init__.py')
F.map_module("edmod", "/proj/src/edmod.py")
`

func TestParseFinder(t *testing.T) {
	ts, err := ParseFinder(finderOld)
	require.NoError(t, err)
	assert.Equal(t, []Target{{"edmod", "/tmp/edx/proj/edmod.py"}, {"edpkg", "/tmp/edx/proj/edpkg"}}, ts)

	ts, err = ParseFinder(finderNew)
	require.NoError(t, err)
	assert.Equal(t, []Target{{"it's", "/src/it's"}, {"ns.pkg", "/src/ns/pkg"}, {"tab", "/src/t\tb\\x"}, {"uni", "/src/café"}}, ts)

	ts, err = ParseFinder(finderEditables)
	require.NoError(t, err)
	assert.Equal(t, []Target{{"edpkg", "/proj/src/edpkg/__init__.py"}, {"edmod", "/proj/src/edmod.py"}}, ts)

	ts, err = ParseFinder("import os\nprint('hello')\n")
	require.NoError(t, err)
	assert.Empty(t, ts)

	_, err = ParseFinder("MAPPING = {'a': '/x\n")
	assert.Error(t, err)
	_, err = ParseFinder("MAPPING = {'a' '/x'}\n")
	assert.Error(t, err)
}

func TestPyString(t *testing.T) {
	for in, want := range map[string]string{
		`'a\'b'`:       "a'b",
		`"a\"b"`:       `a"b`,
		`'\x41\u00e9'`: "Aé",
		`'\101'`:       "A",
		`r'C:\dir'`:    `C:\dir`,
		`'\q'`:         `\q`,
	} {
		got, n, err := pyString(in, 0)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
		assert.Equal(t, len(in), n, in)
	}
	for _, bad := range []string{`'open`, `x`, `'\xZZ'`} {
		_, _, err := pyString(bad, 0)
		assert.Error(t, err, bad)
	}
}

func TestPthImports(t *testing.T) {
	m, ok := pthImports("import __editable___ed_pkg_0_1_finder; __editable___ed_pkg_0_1_finder.install()")
	assert.True(t, ok)
	assert.Equal(t, []string{"__editable___ed_pkg_0_1_finder"}, m)
	m, ok = pthImports("import a, b as c;x()")
	assert.True(t, ok)
	assert.Equal(t, []string{"a", "b"}, m)
	_, ok = pthImports("/abs/src")
	assert.False(t, ok)
}

func write(t *testing.T, p, body string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
}

func dests(xs []mode.ExternalFile) map[string]string {
	out := map[string]string{}
	for _, x := range xs {
		out[x.Dest] = x.Src
	}
	return out
}

const site = "lib/python3.11/site-packages"

// project writes a flat project: package edpkg (with a data file, a
// subpackage, a __pycache__ and a symlinked file), module edmod.py,
// setup.py, conftest.py and an in-tree backend.
func project(t *testing.T, dir string) {
	write(t, filepath.Join(dir, "edpkg", "__init__.py"), "")
	write(t, filepath.Join(dir, "edpkg", "data.json"), "{}")
	write(t, filepath.Join(dir, "edpkg", "sub", "__init__.py"), "")
	write(t, filepath.Join(dir, "edpkg", "__pycache__", "x.cpython-311.pyc"), "")
	write(t, filepath.Join(dir, "edpkg", "old.pyc"), "")
	write(t, filepath.Join(dir, "shared.py"), "S = 1\n")
	require.NoError(t, os.Symlink(filepath.Join(dir, "shared.py"), filepath.Join(dir, "edpkg", "linked.py")))
	write(t, filepath.Join(dir, "edmod.py"), "")
	write(t, filepath.Join(dir, "setup.py"), "")
	write(t, filepath.Join(dir, "conftest.py"), "")
	write(t, filepath.Join(dir, "mybackend.py"), "")
	write(t, filepath.Join(dir, "pyproject.toml"), "[build-system]\nbuild-backend = \"mybackend\"\nbackend-path = [\".\"]\n")
	write(t, filepath.Join(dir, "notapkg", "x.py"), "")
	write(t, filepath.Join(dir, "README.md"), "")
}

func TestResolvePthFolder(t *testing.T) {
	prefix, proj := t.TempDir(), t.TempDir()
	project(t, proj)
	di := site + "/edpkg-0.1.dist-info"
	write(t, filepath.Join(prefix, site, "__editable__.edpkg.pth"), proj+"\n")
	write(t, filepath.Join(prefix, di, "direct_url.json"), `{"url": "file://`+proj+`", "dir_info": {"editable": true}}`)
	write(t, filepath.Join(prefix, di, "METADATA"), "Name: edpkg\nVersion: 0.1\n")
	d := Dist{Name: "edpkg", Version: "0.1", SiteRel: site, DistInfo: di,
		Files: []string{site + "/__editable__.edpkg.pth", di + "/METADATA", di + "/direct_url.json"}}
	res, err := Resolve(prefix, d)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		site + "/edpkg/__init__.py":     filepath.Join(proj, "edpkg", "__init__.py"),
		site + "/edpkg/data.json":       filepath.Join(proj, "edpkg", "data.json"),
		site + "/edpkg/sub/__init__.py": filepath.Join(proj, "edpkg", "sub", "__init__.py"),
		site + "/edpkg/linked.py":       filepath.Join(proj, "shared.py"),
		site + "/edmod.py":              filepath.Join(proj, "edmod.py"),
		site + "/shared.py":             filepath.Join(proj, "shared.py"),
	}, dests(res.External))
	assert.Equal(t, []string{site + "/__editable__.edpkg.pth", di + "/direct_url.json"}, res.Drop)
	assert.Equal(t, []string{proj}, res.Roots)

	// top_level.txt wins over scanning the folder.
	write(t, filepath.Join(prefix, di, "top_level.txt"), "edpkg\n")
	res, err = Resolve(prefix, d)
	require.NoError(t, err)
	assert.Len(t, res.External, 4)
	assert.Contains(t, dests(res.External), site+"/edpkg/__init__.py")

	// The source is gone: the error names the package and the folder.
	require.NoError(t, os.RemoveAll(proj))
	_, err = Resolve(prefix, d)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "edpkg 0.1")
	assert.Contains(t, err.Error(), proj)
	assert.Contains(t, err.Error(), "does not exist")
}

func TestResolveFinder(t *testing.T) {
	prefix, proj := t.TempDir(), t.TempDir()
	project(t, proj)
	write(t, filepath.Join(proj, "ext", "fast.cpython-311-x86_64-linux-gnu.so"), "\x00ELF")
	finder := "__editable___ed_pkg_0_1_finder"
	write(t, filepath.Join(prefix, site, "__editable__.ed_pkg-0.1.pth"), "import "+finder+"; "+finder+".install()\n")
	write(t, filepath.Join(prefix, site, finder+".py"),
		"MAPPING = {'edpkg': '"+filepath.Join(proj, "edpkg")+"', 'edmod': '"+filepath.Join(proj, "edmod.py")+
			"', 'fast': '"+filepath.Join(proj, "ext", "fast.cpython-311-x86_64-linux-gnu.so")+"'}\nNAMESPACES = {}\n")
	di := site + "/ed_pkg-0.1.dist-info"
	d := Dist{Name: "ed-pkg", Version: "0.1", SiteRel: site, DistInfo: di,
		Files: []string{site + "/__editable__.ed_pkg-0.1.pth", site + "/" + finder + ".py", di + "/METADATA"}}
	res, err := Resolve(prefix, d)
	require.NoError(t, err)
	got := dests(res.External)
	assert.Len(t, got, 6, "%v", got)
	assert.Equal(t, filepath.Join(proj, "edmod.py"), got[site+"/edmod.py"])
	assert.Equal(t, filepath.Join(proj, "ext", "fast.cpython-311-x86_64-linux-gnu.so"), got[site+"/fast.cpython-311-x86_64-linux-gnu.so"])
	assert.Contains(t, got, site+"/edpkg/sub/__init__.py")
	assert.NotContains(t, got, site+"/setup.py")
	assert.Equal(t, []string{site + "/__editable__.ed_pkg-0.1.pth", site + "/" + finder + ".py"}, res.Drop)
	assert.Empty(t, res.Roots)

	// A mapping to nowhere fails naming it.
	write(t, filepath.Join(prefix, site, finder+".py"), "MAPPING = {'gone': '/nonexistent/gone'}\n")
	_, err = Resolve(prefix, d)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/nonexistent/gone")

	// A .pth with neither paths nor a finder it can read: nothing to pack.
	write(t, filepath.Join(prefix, site, finder+".py"), "import sys\n")
	_, err = Resolve(prefix, d)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "found no files")
}

func TestResolveLegacyEggLink(t *testing.T) {
	prefix, proj := t.TempDir(), t.TempDir()
	src := filepath.Join(proj, "src")
	write(t, filepath.Join(src, "edpkg", "__init__.py"), "")
	write(t, filepath.Join(src, "helper.py"), "")
	egg := filepath.Join(src, "ed_pkg.egg-info")
	write(t, filepath.Join(egg, "PKG-INFO"), "Name: ed-pkg\nVersion: 0.1\n")
	write(t, filepath.Join(egg, "top_level.txt"), "edpkg\n")
	write(t, filepath.Join(prefix, site, "ed-pkg.egg-link"), src+"\n../\n")
	res, err := Resolve(prefix, Dist{Name: "ed-pkg", Version: "0.1", SiteRel: site, EggInfo: egg, EggLink: site + "/ed-pkg.egg-link"})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		site + "/edpkg/__init__.py":             filepath.Join(src, "edpkg", "__init__.py"),
		site + "/ed_pkg.egg-info/PKG-INFO":      filepath.Join(egg, "PKG-INFO"),
		site + "/ed_pkg.egg-info/top_level.txt": filepath.Join(egg, "top_level.txt"),
	}, dests(res.External))
	assert.Equal(t, []string{site + "/ed-pkg.egg-link"}, res.Drop)
	assert.Equal(t, []string{src}, res.Roots)

	roots, other, err := PthRoots(writeTmp(t, "import sys; sys.__plen = len(sys.path)\n"+src+"\n./rel\n"))
	require.NoError(t, err)
	assert.True(t, other)
	require.Len(t, roots, 2)
	assert.Equal(t, src, roots[0])
}

func writeTmp(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "easy-install.pth")
	write(t, p, body)
	return p
}

func TestScanTopLevel(t *testing.T) {
	proj := t.TempDir()
	project(t, proj)
	names, err := scanTopLevel(proj)
	require.NoError(t, err)
	assert.Equal(t, []string{"edmod", "edpkg", "shared"}, names)
}
