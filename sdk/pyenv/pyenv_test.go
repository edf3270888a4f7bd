package pyenv_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/pyenv"
	"github.com/swcli/swcli/sdk/testpy"
)

// TestQuoteRoundTrips evaluates the quoted text in the real shells (those
// installed) and checks the value comes back unchanged.
func TestQuoteRoundTrips(t *testing.T) {
	const v = `it's a "path" with \ back\\slashes $HOME and ` + "`cmd`"
	for _, sh := range []string{"sh", "bash", "zsh", "fish"} {
		bin, err := exec.LookPath(sh)
		if err != nil {
			t.Logf("%s not installed: skipped", sh)
			continue
		}
		out, err := exec.Command(bin, "-c", "printf '%s' "+pyenv.Quote(sh, v)).Output()
		require.NoError(t, err, sh)
		assert.Equal(t, v, string(out), sh)
	}
}

func TestVersionLess(t *testing.T) {
	assert.True(t, pyenv.VersionLess("3.9.18", "3.10.1"))
	assert.False(t, pyenv.VersionLess("3.10", "3.9"))
	assert.Equal(t, "3.11", pyenv.MajorMinor("3.11.9"))
}

// TestFind finds a real interpreter by X.Y and refuses one that is not
// there with ErrNoTool naming what was found.
func TestFind(t *testing.T) {
	want := testpy.AnyPythons(t, 1)[0]
	ctx := context.Background()
	it, err := pyenv.Find(ctx, mode.Python{Version: want.Version})
	require.NoError(t, err)
	assert.Equal(t, want.Version, it.Version)
	_, err = pyenv.Find(ctx, mode.Python{Version: "3.99"})
	var me *mode.Error
	require.ErrorAs(t, err, &me)
	assert.Equal(t, mode.ErrNoTool, me.Code)
	assert.Contains(t, me.Message, "no Python 3.99 found; found: ")
}

func TestReadDists(t *testing.T) {
	site := t.TempDir()
	di := filepath.Join(site, "Foo_Bar-1.2.dist-info")
	require.NoError(t, os.Mkdir(di, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(di, "METADATA"), []byte("Metadata-Version: 2.1\nName: Foo_Bar\nVersion: 1.2\n\nName: not-a-header\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(di, "RECORD"), []byte("foo_bar/__init__.py,sha256=x,1\n\"odd,name.py\",,\nFoo_Bar-1.2.dist-info/RECORD,,\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(di, "entry_points.txt"), []byte("[console_scripts]\nfb = foo_bar:main [extra]\n"), 0o644))
	ds := pyenv.ReadDists(site)
	require.Len(t, ds, 1)
	assert.Equal(t, "foo-bar", ds[0].Name)
	assert.Equal(t, "1.2", ds[0].Version)
	assert.Equal(t, []string{"foo_bar/__init__.py", "odd,name.py", "Foo_Bar-1.2.dist-info/RECORD"}, ds[0].Record())
	assert.Equal(t, map[string]string{"fb": "foo_bar:main"}, ds[0].Scripts())
	assert.Equal(t, mode.LockedPackage{Name: "foo-bar", Version: "1.2", Installer: mode.InstallerPip}, ds[0].Locked(""))
}
