package venvmode

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDistFilesKeepsWhatIsThere: of a RECORD's entries, distFiles keeps
// the files and symlinks (also one to a folder, and one whose folder is
// reached through a symlinked folder) that are there, and leaves out what
// is missing, folders, *.pyc and __pycache__; the dist-info's own files
// are listed even when RECORD misses them.
func TestDistFilesKeepsWhatIsThere(t *testing.T) {
	prefix := t.TempDir()
	site := "lib/python3.11/site-packages"
	mk := func(rel, content string) {
		p := filepath.Join(prefix, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	di := site + "/pkg-1.0.dist-info"
	mk(di+"/METADATA", "Metadata-Version: 2.1\nName: Pkg\nVersion: 1.0\n")
	mk(di+"/WHEEL", "w")
	mk(site+"/pkg/__init__.py", "")
	mk(site+"/pkg/sub/mod.py", "")
	mk(site+"/pkg/__pycache__/mod.cpython-311.pyc", "")
	mk("bin/tool", "#!python")
	require.NoError(t, os.Symlink("sub", filepath.Join(prefix, site, "pkg", "sublink")))
	require.NoError(t, os.Symlink("pkg", filepath.Join(prefix, site, "pkglink")))
	mk(di+"/RECORD", "pkg/__init__.py,,\npkg/sub/mod.py,,\npkg/sub,,\npkg/missing.py,,\npkg/__pycache__/mod.cpython-311.pyc,,\n"+
		"pkg/old.pyc,,\npkg/sublink,,\npkglink/sub/mod.py,,\n../../../bin/tool,,\n../../../bin/gone,,\npkg-1.0.dist-info/METADATA,,\n")
	pf, err := distFiles(prefix, site, filepath.Join(prefix, filepath.FromSlash(di)), func(string) bool { return false })
	require.NoError(t, err)
	require.Equal(t, []string{
		"bin/tool",
		site + "/pkg-1.0.dist-info/METADATA", site + "/pkg-1.0.dist-info/RECORD", site + "/pkg-1.0.dist-info/WHEEL",
		site + "/pkg/__init__.py", site + "/pkg/sub/mod.py", site + "/pkg/sublink", site + "/pkglink/sub/mod.py",
	}, pf.Files)
}
