package plugin_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/plugin"
)

// oddPlugins builds testdata/oddkind as a "widget" plugin and as a store
// plugin.
func oddPlugins(t *testing.T) (widget, store string) {
	t.Helper()
	bin := testdataPlugin(t, "oddkind")
	dir := t.TempDir()
	widget = filepath.Join(dir, "swcli-plugin-widget")
	store = filepath.Join(dir, "swcli-plugin-store")
	require.NoError(t, os.Link(bin, widget))
	require.NoError(t, os.Link(bin, store))
	return widget, store
}

func TestInstall(t *testing.T) {
	t.Parallel()
	widget, store := oddPlugins(t)
	dir := t.TempDir()
	user := filepath.Join(dir, "user", "plugins.yaml")
	builtin := writeFile(t, dir, "builtin.yaml", "plugins:\n  - name: venv\n    kind: mode\n    command: ./swcli-plugin-venv\n")
	// An entry the user wrote by hand stays as written.
	writeFile(t, filepath.Dir(user), "plugins.yaml", "plugins:\n  - name: mine\n    kind: mode\n    command: ./bin/mine\n    args: [--x]\n")
	ctx := context.Background()
	opts := func(path, name string, force bool) plugin.InstallOptions {
		return plugin.InstallOptions{Path: path, Name: name, Force: force, File: user, Builtin: builtin}
	}

	_, err := plugin.Install(ctx, opts(widget, "", false))
	var ie *plugin.InstallError
	require.True(t, errors.As(err, &ie), "%v", err)
	assert.Equal(t, widget+` says it is a "widget" plugin; swcli installs only mode and store plugins`, err.Error())

	res, err := plugin.Install(ctx, opts(store, "", false))
	require.NoError(t, err)
	sum, _ := plugin.FileSHA256(store)
	// raw-bytes: the sdk serves every store's bytes on a raw channel
	assert.Equal(t, plugin.InstallResult{Name: "teststore", Kind: "store", Version: "0.0.1-test", Path: store, SHA256: sum,
		File: user, Protocol: []int{1}, Capabilities: []string{"raw-bytes"}}, *res)

	_, err = plugin.Install(ctx, opts(store, "venv", false))
	assert.EqualError(t, err, `"venv" is the name of a built-in mode plugin (`+builtin+`); pass --name to install under another name, or --force to replace it for this user`)
	res, err = plugin.Install(ctx, opts(store, "venv", true))
	require.NoError(t, err)
	assert.False(t, res.Replaced)
	res, err = plugin.Install(ctx, opts(store, "venv", true))
	require.NoError(t, err)
	assert.True(t, res.Replaced)

	es, err := plugin.ReadFile(user)
	require.NoError(t, err)
	require.Len(t, es, 3)
	assert.Equal(t, plugin.Entry{Name: "mine", Kind: "mode", Command: "./bin/mine", Args: []string{"--x"},
		Path: filepath.Join(filepath.Dir(user), "bin", "mine"), Source: user}, es[0])
	assert.Equal(t, "teststore", es[1].Name)
	assert.Equal(t, "venv", es[2].Name)
	assert.Equal(t, store, es[2].Command)

	// The catalog launches the installed store with its checksum.
	cat, err := plugin.Load([]string{builtin, user})
	require.NoError(t, err)
	h := plugin.NewHost(cat, nil)
	defer h.Close()
	info, _, err := h.Info(ctx, "teststore")
	require.NoError(t, err)
	assert.Equal(t, "store", info.Kind)

	rm, err := plugin.Remove("venv", user)
	require.NoError(t, err)
	assert.Equal(t, plugin.RemoveResult{Name: "venv", Kind: "store", Path: store, File: user, Removed: true}, *rm)
	_, err = plugin.Remove("venv", user)
	assert.EqualError(t, err, `no plugin named "venv" in `+user+` (installed there: mine, teststore)`)
	es, _ = plugin.ReadFile(user)
	assert.Len(t, es, 2)
}

func TestInstallRefuses(t *testing.T) {
	t.Parallel()
	_, store := oddPlugins(t)
	dir := t.TempDir()
	ctx := context.Background()
	bad := writeFile(t, dir, "plugins.yaml", "plugins:\n  - name: x\n    kind: nope\n")
	_, err := plugin.Install(ctx, plugin.InstallOptions{Path: store, File: bad})
	var fe *plugin.FileError
	require.True(t, errors.As(err, &fe), "%v", err)
	b, _ := os.ReadFile(bad)
	assert.Equal(t, "plugins:\n  - name: x\n    kind: nope\n", string(b), "a broken plugins.yaml is left alone")

	user := filepath.Join(dir, "user.yaml")
	_, err = plugin.Install(ctx, plugin.InstallOptions{Path: store, Name: "9lives", File: user})
	assert.ErrorContains(t, err, `--name "9lives" is not a valid plugin name`)
	script := writeFile(t, dir, "sleeper", "#!/bin/sh\nexec sleep 60\n")
	require.NoError(t, os.Chmod(script, 0o755))
	// A program that never answers is refused once the probe times out (a
	// short one here: it is the whole wait of this case).
	_, err = plugin.Install(ctx, plugin.InstallOptions{Path: script, File: user, ProbeTimeout: time.Second})
	var np *plugin.NotPluginError
	require.True(t, errors.As(err, &np), "%v", err)
	assert.Contains(t, err.Error(), "is not a swcli plugin: the plugin handshake failed")
	_, err = os.Stat(user)
	assert.True(t, os.IsNotExist(err))
}
