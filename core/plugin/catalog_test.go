package plugin_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/plugin"
)

const sum64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

func TestReadFileResolvesCommands(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "plugins.yaml", `plugins:
  - name: venv
    kind: mode
    command: ./swcli-plugin-venv
    sha256: `+sum64+`
  - name: s3
    kind: store
    command: /opt/s3/plugin
    args: [--fast]
`)
	es, err := plugin.ReadFile(p)
	require.NoError(t, err)
	require.Len(t, es, 2)
	assert.Equal(t, filepath.Join(dir, "swcli-plugin-venv"), es[0].Path, "relative commands resolve against the plugins.yaml folder")
	assert.Equal(t, sum64, es[0].SHA256)
	assert.Equal(t, p, es[0].Source)
	assert.Equal(t, "/opt/s3/plugin", es[1].Path)
	assert.Equal(t, []string{"--fast"}, es[1].Args)
}

func TestReadFileErrors(t *testing.T) {
	cases := []struct {
		name, body string
		want       string // substring of the error after "FILE:"
	}{
		{"unknown key", "plugins:\n  - name: a\n    kind: mode\n    colour: red\n", ":4: colour: unknown key; allowed: name, kind"},
		{"bad kind", "plugins:\n  - name: a\n    kind: mode\n  - name: b\n    kind: flavour\n", `:4: plugin "b": kind "flavour" is not a kind; allowed: mode, store`},
		{"no name", "plugins:\n  - kind: mode\n", ":2: plugin without a name"},
		{"twice", "plugins:\n  - name: a\n    kind: mode\n  - name: a\n    kind: store\n", `:4: plugin "a" listed twice`},
		{"bad sha", "plugins:\n  - name: a\n    kind: mode\n    sha256: abc\n", `:2: plugin "a": sha256 must be 64 hex characters`},
		{"upper sha", "plugins:\n  - name: a\n    kind: mode\n    sha256: " + strings.ToUpper(sum64) + "\n", "sha256 must be 64 hex characters"},
		{"wrong type", "plugins:\n  name: a\n", ":2: cannot unmarshal"},
		{"malformed", "plugins:\n  - name: a\n   kind: mode\n", "plugins.yaml:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "plugins.yaml", c.body)
			_, err := plugin.ReadFile(p)
			require.Error(t, err)
			var fe *plugin.FileError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, p, fe.File)
			assert.True(t, strings.HasPrefix(err.Error(), p+":"), "error names the file: %v", err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

func TestLoadOrderAndOverride(t *testing.T) {
	t.Setenv("SW_PLUGINS", "")
	a := writeFile(t, t.TempDir(), "plugins.yaml", "plugins:\n  - name: venv\n    kind: mode\n    command: ./a\n  - name: fs\n    kind: store\n    command: ./fs\n")
	b := writeFile(t, t.TempDir(), "plugins.yaml", "plugins:\n  - name: venv\n    kind: mode\n    command: ./b\n")
	missing := filepath.Join(t.TempDir(), "plugins.yaml")
	c, err := plugin.Load([]string{a, missing, b})
	require.NoError(t, err)
	assert.Equal(t, []string{a, b}, c.Sources, "missing files are skipped")
	e, err := c.Lookup("venv", "mode")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(filepath.Dir(b), "b"), e.Path, "a later file wins")
	var names []string
	for _, e := range c.Entries() {
		names = append(names, e.Kind+"/"+e.Name)
	}
	assert.Equal(t, []string{"mode/venv", "store/fs"}, names)

	_, err = c.Lookup("fs", "mode")
	var nf *plugin.NotFoundError
	require.ErrorAs(t, err, &nf)
	assert.Equal(t, `no mode plugin named "fs"; known: venv`, err.Error())
	_, err = c.Lookup("poetry", "")
	require.ErrorAs(t, err, &nf)
	assert.Contains(t, err.Error(), "known: venv, fs")
}

func TestLoadNothingFound(t *testing.T) {
	t.Setenv("SW_PLUGINS", "")
	c, err := plugin.Load([]string{filepath.Join(t.TempDir(), "plugins.yaml")})
	require.NoError(t, err)
	_, err = c.Lookup("venv", "mode")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no plugins.yaml found")
}

func TestLoadExplicitMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "mine.yaml")
	t.Setenv("SW_PLUGINS", missing)
	_, err := plugin.Load(plugin.DefaultSources())
	var fe *plugin.FileError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, missing, fe.File)
	assert.Contains(t, err.Error(), "SW_PLUGINS")
}

func TestDefaultSources(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "cfg", "config.yaml")
	t.Setenv("SW_CLI_CONFIG", cfg)
	t.Setenv("SW_PLUGINS", "/x/one.yaml"+string(os.PathListSeparator)+"/x/two.yaml")
	src := plugin.DefaultSources()
	require.Len(t, src, 4)
	assert.Equal(t, plugin.FileName, filepath.Base(src[0]), "first the one beside the binary")
	assert.Equal(t, filepath.Join(filepath.Dir(cfg), plugin.FileName), src[1], "then the user's, beside the CLI config")
	assert.Equal(t, []string{"/x/one.yaml", "/x/two.yaml"}, src[2:])
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	bin := writeFile(t, dir, "p", "#!/bin/sh\n")
	require.NoError(t, os.Chmod(bin, 0o755))
	sum, err := plugin.FileSHA256(bin)
	require.NoError(t, err)

	assert.NoError(t, plugin.Verify(plugin.Entry{Name: "p", Path: bin, SHA256: sum}))
	assert.NoError(t, plugin.Verify(plugin.Entry{Name: "p", Path: bin}), "no listed checksum: nothing to check")

	err = plugin.Verify(plugin.Entry{Name: "p", Path: bin, SHA256: sum64})
	var ce *plugin.ChecksumError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, bin, ce.Path)
	assert.Contains(t, err.Error(), bin)
	assert.Contains(t, err.Error(), "refusing")

	var le *plugin.LaunchError
	err = plugin.Verify(plugin.Entry{Name: "p", Path: filepath.Join(dir, "nope")})
	require.ErrorAs(t, err, &le)
	assert.Contains(t, err.Error(), "not found")

	plain := writeFile(t, dir, "plain", "x")
	err = plugin.Verify(plugin.Entry{Name: "p", Path: plain})
	require.True(t, errors.As(err, &le))
	assert.Contains(t, err.Error(), "not an executable")
}
