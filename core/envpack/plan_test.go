package envpack

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
)

func writeFiles(t *testing.T, root string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(f), 0o644))
	}
}

// TestPlanExternalAndDrop: External files join their package's layer (with
// the folders above them mapped to the source's), Drop files and excluded
// paths are left out, an External Dest wins over a prefix file.
func TestPlanExternalAndDrop(t *testing.T) {
	prefix, src := t.TempDir(), t.TempDir()
	const site = "lib/python3.11/site-packages"
	writeFiles(t, prefix, "pyvenv.cfg", site+"/edpkg-0.1.dist-info/METADATA", site+"/__editable__.edpkg.pth",
		site+"/edpkg-0.1.dist-info/direct_url.json", site+"/easy-install.pth", site+"/stale/mod.py")
	writeFiles(t, src, "proj/edpkg/__init__.py", "proj/edpkg/sub/x.py", "proj/edpkg/__pycache__/y.pyc", "proj/stale.py")
	require.NoError(t, os.Symlink(filepath.Join(src, "proj", "stale.py"), filepath.Join(src, "proj", "link.py")))
	rep := mode.FilesReport{
		Exclude: []string{"pyvenv.cfg", "__pycache__/"},
		Packages: []mode.PackageFiles{{
			Name: "edpkg", Version: "0.1",
			Files: []string{site + "/edpkg-0.1.dist-info/METADATA", site + "/__editable__.edpkg.pth", site + "/edpkg-0.1.dist-info/direct_url.json"},
			External: []mode.ExternalFile{
				{Src: filepath.Join(src, "proj/edpkg/__init__.py"), Dest: site + "/edpkg/__init__.py"},
				{Src: filepath.Join(src, "proj/edpkg/sub/x.py"), Dest: site + "/edpkg/sub/x.py"},
				{Src: filepath.Join(src, "proj/edpkg/__pycache__/y.pyc"), Dest: site + "/edpkg/__pycache__/y.pyc"},
				{Src: filepath.Join(src, "proj/link.py"), Dest: site + "/stale/mod.py"},
			},
			Drop: []string{site + "/__editable__.edpkg.pth", site + "/edpkg-0.1.dist-info/direct_url.json", site + "/easy-install.pth"},
		}},
	}
	layers, err := Plan(prefix, rep)
	require.NoError(t, err)
	require.Len(t, layers, 2)
	assert.Empty(t, layers[0].Files, "base")
	assert.Nil(t, layers[0].Sources)
	l := layers[1]
	assert.Equal(t, "edpkg==0.1", l.Package)
	assert.Equal(t, []string{site + "/edpkg-0.1.dist-info/METADATA", site + "/edpkg/__init__.py", site + "/edpkg/sub/x.py", site + "/stale/mod.py"}, l.Files)
	real, err := filepath.EvalSymlinks(src)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		site + "/edpkg":             filepath.Join(real, "proj/edpkg"),
		site + "/edpkg/sub":         filepath.Join(real, "proj/edpkg/sub"),
		site + "/edpkg/__init__.py": filepath.Join(real, "proj/edpkg/__init__.py"),
		site + "/edpkg/sub/x.py":    filepath.Join(real, "proj/edpkg/sub/x.py"),
		site + "/stale/mod.py":      filepath.Join(real, "proj/stale.py"),
	}, l.Sources, "symlinks resolved; folders the prefix has are not mapped")

	for _, bad := range []mode.ExternalFile{
		{Src: filepath.Join(src, "proj/edpkg/__init__.py"), Dest: "../escape.py"},
		{Src: filepath.Join(src, "proj/edpkg/__init__.py"), Dest: "/abs.py"},
		{Src: "relative.py", Dest: "x.py"},
		{Src: filepath.Join(src, "nope.py"), Dest: "x.py"},
		{Src: filepath.Join(src, "proj"), Dest: "x.py"},
	} {
		rep.Packages[0].External = []mode.ExternalFile{bad}
		_, err := Plan(prefix, rep)
		assert.Error(t, err, "%+v", bad)
	}
}
