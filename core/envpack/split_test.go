package envpack

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
)

// TestSplitIsPlan checks that PlanPackages and Base give the layers Plan
// gives, on a prefix with what the walk's rules decide: excluded folders
// (by name and by path) and files, a folder reached through a symlink,
// files listed twice, listed but missing, listed folders, Drop and External
// files; and that a file of a package that appears after PlanPackages makes
// Base fail rather than vanish from the layers.
func TestSplitIsPlan(t *testing.T) {
	prefix, src := t.TempDir(), t.TempDir()
	const site = "lib/python3.11/site-packages"
	writeFiles(t, prefix, "pyvenv.cfg", "bin/tool", "bin/python3", site+"/a/__init__.py", site+"/a/__pycache__/x.pyc",
		site+"/a-1.dist-info/RECORD", site+"/b/mod.py", site+"/b/data/d.bin", site+"/shared.py", site+"/a.pth",
		site+"/orphan.py", "share/doc/readme", "etc/skip/me")
	require.NoError(t, os.Symlink("lib", filepath.Join(prefix, "lib64")))
	require.NoError(t, os.Symlink("mod.py", filepath.Join(prefix, site, "b", "link.py")))
	writeFiles(t, src, "proj/ext.py")
	rep := mode.FilesReport{
		Exclude: []string{"pyvenv.cfg", "__pycache__/", "etc/skip/", "bin/python3"},
		Packages: []mode.PackageFiles{
			{Name: "b", Version: "2", Files: []string{site + "/b/mod.py", site + "/b/link.py", "./" + site + "/b/data/d.bin", site + "/shared.py",
				site + "/b", "lib64/python3.11/site-packages/b/mod.py", site + "/b/gone.py", "../outside", "etc/skip/me"}},
			{Name: "a", Version: "1", Files: []string{site + "/a/__init__.py", site + "/a/__pycache__/x.pyc", site + "/a-1.dist-info/RECORD",
				site + "/shared.py", "bin/tool", "bin/python3", site + "/a.pth"},
				Drop:     []string{site + "/a.pth"},
				External: []mode.ExternalFile{{Src: filepath.Join(src, "proj/ext.py"), Dest: site + "/a/ext.py"}}},
		},
	}
	want, err := Plan(prefix, rep)
	require.NoError(t, err)
	s, pkgs, err := PlanPackages(prefix, rep)
	require.NoError(t, err)
	tree, err := Walk(prefix)
	require.NoError(t, err)
	base, err := s.Base(tree)
	require.NoError(t, err)
	assert.Equal(t, want, append([]Layer{base}, pkgs...))
	require.Len(t, want, 3)
	assert.Equal(t, []string{"bin/tool", site + "/a-1.dist-info/RECORD", site + "/a/__init__.py", site + "/a/ext.py", site + "/shared.py"}, want[1].Files)
	assert.Equal(t, []string{site + "/b/data/d.bin", site + "/b/link.py", site + "/b/mod.py"}, want[2].Files)
	assert.Equal(t, []string{site + "/orphan.py", "lib64", "share/doc/readme"}, want[0].Files)
	for _, f := range pkgs[0].Files {
		if f != site+"/a/ext.py" {
			assert.NotNil(t, s.Stat(f), f)
		}
	}

	// b's gone.py appears after PlanPackages.
	writeFiles(t, prefix, site+"/b/gone.py")
	tree, err = Walk(prefix)
	require.NoError(t, err)
	_, err = s.Base(tree)
	assert.ErrorContains(t, err, "gone.py appeared")
}
