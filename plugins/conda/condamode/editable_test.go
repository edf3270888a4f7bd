package condamode

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/testpy"
)

// edPthBackend is a minimal PEP 660 backend: an editable wheel of edpkg 0.1
// whose .pth lists the project folder (no setuptools, no network).
const edPthBackend = `import base64, hashlib, os, zipfile
DIST = "edpkg-0.1.dist-info"
def get_requires_for_build_editable(config_settings=None):
    return []
def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    files = {"__editable__.edpkg.pth": os.path.abspath(".") + "\n",
             DIST + "/METADATA": "Metadata-Version: 2.1\nName: edpkg\nVersion: 0.1\n",
             DIST + "/WHEEL": "Wheel-Version: 1.0\nGenerator: ed\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    name = "edpkg-0.1-py3-none-any.whl"
    rec = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for p, text in sorted(files.items()):
            z.writestr(p, text)
            d = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
            rec.append("%s,sha256=%s,%d" % (p, d, len(text.encode())))
        z.writestr(DIST + "/RECORD", "\n".join(rec + [DIST + "/RECORD,,"]) + "\n")
    return name
`

// TestStandinFilesIncludeEditable: a pip editable install in a conda
// environment is reported as its source files with IncludeEditable.
func TestStandinFilesIncludeEditable(t *testing.T) {
	py := testpy.AnyPythons(t, 1)[0]
	m, _ := standin(t)
	ctx := ctxT(t)
	root := t.TempDir()
	wd := filepath.Join(root, "workdir")
	proj := filepath.Join(root, "proj")
	writeFile(t, filepath.Join(proj, "pyproject.toml"), "[build-system]\nrequires = []\nbuild-backend = \"edbackend\"\nbackend-path = [\".\"]\n")
	writeFile(t, filepath.Join(proj, "edbackend.py"), edPthBackend)
	writeFile(t, filepath.Join(proj, "edpkg", "__init__.py"), "X = 1\n")
	env := mode.Env{Workdir: wd, Prefix: filepath.Join(root, "prefix"), Python: mode.Python{Version: py.Version},
		Pip: mode.PipConfig{NoIndex: true}}
	writeFile(t, filepath.Join(wd, "runtime.yaml"), "")
	require.NoError(t, m.Create(ctx, mode.CreateRequest{Env: env}, nil))
	err := m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{
		{Kind: mode.DepCommand, Command: "python -m pip install -q --no-index --no-build-isolation -e '" + proj + "'"},
	}}, nil)
	if err != nil {
		t.Skipf("cannot make an editable install offline with Python %s: %v", py.Version, err)
	}

	rep, err := m.Files(ctx, mode.FilesRequest{Env: env})
	require.NoError(t, err)
	pf, ok := filesOf(rep, "edpkg")
	require.True(t, ok)
	assert.Empty(t, pf.External)
	assert.Empty(t, pf.Drop)

	rep, err = m.Files(ctx, mode.FilesRequest{Env: env, IncludeEditable: true})
	require.NoError(t, err)
	pf, ok = filesOf(rep, "edpkg")
	require.True(t, ok)
	site := ""
	for _, f := range pf.Files {
		if filepath.Base(f) == "__editable__.edpkg.pth" {
			site = filepath.Dir(f)
		}
	}
	require.NotEmpty(t, site, "%v", pf.Files)
	assert.Equal(t, []mode.ExternalFile{{Src: filepath.Join(proj, "edpkg", "__init__.py"), Dest: site + "/edpkg/__init__.py"}}, pf.External)
	assert.Contains(t, pf.Drop, site+"/__editable__.edpkg.pth")
}
