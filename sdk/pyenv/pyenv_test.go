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

// TestReadSite reads a site-packages folder as importlib.metadata would:
// a dist without a version is kept (ReadDists skips it), one without a name
// is skipped, and what only Python reads right (a .pth file, an egg, a
// prefix-matched name, two dist-infos of one name, a METADATA that cannot
// be read) makes it say false.
func TestReadSite(t *testing.T) {
	site := t.TempDir()
	dist := func(dir, metadata string) {
		t.Helper()
		require.NoError(t, os.MkdirAll(filepath.Join(site, dir), 0o755))
		if metadata != "" {
			require.NoError(t, os.WriteFile(filepath.Join(site, dir, "METADATA"), []byte(metadata), 0o644))
		}
	}
	dist("b_lib-2.0.dist-info", "Name: B.Lib\nVersion: 2.0\n")
	dist("a-0.dist-info", "Name: a\n")
	dist("nameless-1.dist-info", "Version: 1\n")
	dist("nometa-1.dist-info", "")
	require.NoError(t, os.WriteFile(filepath.Join(site, "distutils-precedence.pth"), []byte("import os\n"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(site, "b_lib"), 0o755))

	ds, ok := pyenv.ReadSite(site)
	require.True(t, ok)
	require.Len(t, ds, 2)
	assert.Equal(t, []string{"a", "b-lib"}, []string{ds[0].Name, ds[1].Name})
	assert.Equal(t, []string{"", "2.0"}, []string{ds[0].Version, ds[1].Version})
	assert.Equal(t, filepath.Join(site, "b_lib-2.0.dist-info"), ds[1].Dir)
	lenient := pyenv.ReadDists(site)
	require.Len(t, lenient, 1, "ReadDists skips the dist without a version")
	assert.Equal(t, ds[1], lenient[0])

	for _, c := range []struct {
		name string
		add  func(p string)
	}{
		{"x.pth", func(p string) { require.NoError(t, os.WriteFile(p, []byte("/elsewhere\n"), 0o644)) }},
		{"x.egg-link", func(p string) { require.NoError(t, os.WriteFile(p, []byte("/src\n.\n"), 0o644)) }},
		{"old-1.0-py3.11.egg-info", func(p string) { require.NoError(t, os.Mkdir(p, 0o755)) }},
		{"old-1.0-py3.11.egg", func(p string) { require.NoError(t, os.Mkdir(p, 0o755)) }},
		{"c-1.dist-info-old", func(p string) { require.NoError(t, os.Mkdir(p, 0o755)) }},
		{"c-1.DIST-INFO", func(p string) { require.NoError(t, os.Mkdir(p, 0o755)) }},
		{"c-1.dist-info", func(p string) { require.NoError(t, os.WriteFile(p, nil, 0o644)) }},
		{"B_Lib-2.1.dist-info", func(p string) {
			require.NoError(t, os.Mkdir(p, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(p, "METADATA"), []byte("Name: b-lib\nVersion: 2.1\n"), 0o644))
		}},
		{"unreadable-1.dist-info", func(p string) {
			require.NoError(t, os.MkdirAll(filepath.Join(p, "METADATA"), 0o755)) // open works, read fails
		}},
	} {
		p := filepath.Join(site, c.name)
		c.add(p)
		_, ok := pyenv.ReadSite(site)
		assert.False(t, ok, "%s is Python's to read", c.name)
		require.NoError(t, os.RemoveAll(p))
	}
	_, ok = pyenv.ReadSite(site)
	assert.True(t, ok)
	_, ok = pyenv.ReadSite(filepath.Join(site, "missing"))
	assert.False(t, ok)
}
