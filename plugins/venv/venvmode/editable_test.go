package venvmode_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/testpy"
)

// edFiles returns the report's entry for name.
func edFiles(t *testing.T, rep mode.FilesReport, name string) mode.PackageFiles {
	t.Helper()
	for _, p := range rep.Packages {
		if p.Name == name {
			return p
		}
	}
	require.Failf(t, "no package", "%s not in the files report", name)
	return mode.PackageFiles{}
}

func edDests(xs []mode.ExternalFile) map[string]string {
	out := map[string]string{}
	for _, x := range xs {
		out[x.Dest] = x.Src
	}
	return out
}

// TestFilesIncludeEditable lists editable installs of the three kinds with
// IncludeEditable: legacy `setup.py develop` (.egg-link, metadata in the
// project's .egg-info), setuptools' PEP 660 finder (made with the venv's
// own setuptools template, since building the editable wheel needs the
// wheel package, which is not installed offline) and a .pth listing the
// project folder. Needs a venv with setuptools: Python 3.8 to 3.11.
func TestFilesIncludeEditable(t *testing.T) {
	t.Parallel()
	var py testpy.Python
	for _, v := range []string{"3.11", "3.10", "3.9", "3.8"} {
		if p, ok := testpy.FindPython(v); ok {
			py = p
			break
		}
	}
	if py.Path == "" {
		t.Skipf("no Python 3.8-3.11 (venvs with setuptools); found: %v", testpy.FindPythons())
	}
	m := newMode()
	ctx := context.Background()
	wd := t.TempDir()
	projects := t.TempDir()
	env := mode.Env{Workdir: wd, Prefix: filepath.Join(t.TempDir(), "env"), Python: mode.Python{Version: py.Version}}
	create(t, m, env)
	site := "lib/python" + py.Version + "/site-packages"

	// 1. Legacy develop, src layout.
	legacy := filepath.Join(projects, "legacy")
	writeT(t, filepath.Join(legacy, "setup.py"), "from setuptools import setup\nsetup(name='ed-legacy', version='0.1', package_dir={'': 'src'}, packages=['edlegacy'])\n")
	writeT(t, filepath.Join(legacy, "src", "edlegacy", "__init__.py"), "L = 1\n")
	// 2. setuptools' finder, flat layout with a module.
	finder := filepath.Join(projects, "finder")
	writeT(t, filepath.Join(finder, "edfinder", "__init__.py"), "F = 1\n")
	writeT(t, filepath.Join(finder, "edfinder", "res", "x.json"), "{}\n")
	writeT(t, filepath.Join(finder, "edfmod.py"), "M = 1\n")
	// 3. a .pth with the folder.
	pth := filepath.Join(projects, "pth")
	writeT(t, filepath.Join(pth, "edpth", "__init__.py"), "P = 1\n")
	writeT(t, filepath.Join(pth, "setup.py"), "")

	makeFinder := `import json, os, sys, base64, hashlib
from setuptools.command.editable_wheel import _finder_template
site, proj, pthproj = sys.argv[1:4]
def dist(name, files):
    di = os.path.join(site, name + "-0.1.dist-info")
    os.makedirs(di)
    files = dict(files)
    files[name + "-0.1.dist-info/METADATA"] = "Metadata-Version: 2.1\nName: %s\nVersion: 0.1\n" % name
    files[name + "-0.1.dist-info/INSTALLER"] = "pip\n"
    files[name + "-0.1.dist-info/direct_url.json"] = json.dumps({"url": "file://" + proj, "dir_info": {"editable": True}})
    rec = []
    for p, text in sorted(files.items()):
        with open(os.path.join(site, p), "w") as f:
            f.write(text)
        rec.append(p + ",,")
    rec.append(name + "-0.1.dist-info/RECORD,,")
    with open(os.path.join(di, "RECORD"), "w") as f:
        f.write("\n".join(rec) + "\n")
mod = "__editable___ed_finder_0_1_finder"
dist("ed_finder", {
    "__editable__.ed_finder-0.1.pth": "import %s; %s.install()\n" % (mod, mod),
    mod + ".py": _finder_template(mod, {"edfinder": os.path.join(proj, "edfinder"), "edfmod": os.path.join(proj, "edfmod.py")}, {}),
})
dist("ed_pth", {"ed_pth.pth": pthproj + "\n"})
`
	writeT(t, filepath.Join(wd, "mkfinder.py"), makeFinder)
	require.NoError(t, m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{
		{Kind: mode.DepCommand, Command: "cd '" + legacy + "' && python setup.py -q develop"},
		{Kind: mode.DepCommand, Command: "python mkfinder.py \"$(python -c 'import sysconfig; print(sysconfig.get_paths()[\"purelib\"])')\" '" + finder + "' '" + pth + "'"},
	}}, nil))
	out := sh(t, "", nil, filepath.Join(env.Prefix, "bin", "python"), "-c", "import edlegacy, edfinder, edfmod, edpth; print(edlegacy.__file__, edfinder.__file__, edfmod.__file__, edpth.__file__)")
	require.Contains(t, out, filepath.Join(finder, "edfinder", "__init__.py"), "the finder works")

	lock, err := m.Lock(ctx, mode.LockRequest{Env: env}, nil)
	require.NoError(t, err)
	eds := map[string]bool{}
	for _, p := range lock.Packages {
		if p.Editable {
			eds[p.Name] = true
		}
	}
	require.Equal(t, map[string]bool{"ed-legacy": true, "ed-finder": true, "ed-pth": true}, eds)

	// Without IncludeEditable: as before.
	rep, err := m.Files(ctx, mode.FilesRequest{Env: env})
	require.NoError(t, err)
	for _, p := range rep.Packages {
		assert.Empty(t, p.External, p.Name)
		assert.Empty(t, p.Drop, p.Name)
		assert.NotEqual(t, "ed-legacy", p.Name, "a legacy editable has no dist-info")
	}

	rep, err = m.Files(ctx, mode.FilesRequest{Env: env, IncludeEditable: true})
	require.NoError(t, err)

	l := edFiles(t, rep, "ed-legacy")
	assert.Equal(t, "0.1", l.Version)
	assert.Equal(t, []string{site + "/ed-legacy.egg-link"}, l.Files)
	assert.Equal(t, []string{site + "/easy-install.pth", site + "/ed-legacy.egg-link"}, l.Drop)
	ld := edDests(l.External)
	assert.Equal(t, filepath.Join(legacy, "src", "edlegacy", "__init__.py"), ld[site+"/edlegacy/__init__.py"])
	assert.Contains(t, ld, site+"/ed_legacy.egg-info/PKG-INFO")
	assert.Contains(t, ld, site+"/ed_legacy.egg-info/top_level.txt")
	assert.NotContains(t, ld, site+"/setup.py")

	f := edFiles(t, rep, "ed-finder")
	assert.Equal(t, []string{site + "/__editable__.ed_finder-0.1.pth", site + "/__editable___ed_finder_0_1_finder.py",
		site + "/ed_finder-0.1.dist-info/direct_url.json"}, f.Drop)
	assert.Equal(t, map[string]string{
		site + "/edfinder/__init__.py": filepath.Join(finder, "edfinder", "__init__.py"),
		site + "/edfinder/res/x.json":  filepath.Join(finder, "edfinder", "res", "x.json"),
		site + "/edfmod.py":            filepath.Join(finder, "edfmod.py"),
	}, edDests(f.External))

	p := edFiles(t, rep, "ed-pth")
	assert.Equal(t, []string{site + "/ed_pth-0.1.dist-info/direct_url.json", site + "/ed_pth.pth"}, p.Drop)
	assert.Equal(t, map[string]string{site + "/edpth/__init__.py": filepath.Join(pth, "edpth", "__init__.py")}, edDests(p.External))

	// A project that is gone fails naming the package and the folder.
	require.NoError(t, os.Rename(pth, pth+"-moved"))
	_, err = m.Files(ctx, mode.FilesRequest{Env: env, IncludeEditable: true})
	me := modeErr(t, err, mode.ErrInvalid)
	assert.Contains(t, me.Message, "ed-pth 0.1")
	assert.Contains(t, me.Message, pth)
	assert.True(t, strings.Contains(me.Message, "does not exist"), me.Message)
}

func writeT(t *testing.T, p, body string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
}
