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
	"github.com/swcli/swcli/plugins/venv/venvmode"
)

// TestRelocateShebangWithSpaces: a console script packed with a direct
// shebang (#!PLACEHOLDER/bin/python3) and listed as a text file is relocated
// to a prefix with spaces; its shebang must still become the trampoline
// (it was split on blanks and left as an unrunnable "#!/a b/bin/python3").
func TestRelocateShebangWithSpaces(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "restored here", "a b", ".starwhale", "venv")
	bin := filepath.Join(prefix, "bin")
	require.NoError(t, os.MkdirAll(bin, 0o755))
	scripts := map[string]string{
		"plain":   "#!" + mode.PrefixPlaceholder + "/bin/python3\nimport sys\n",
		"options": "#!" + mode.PrefixPlaceholder + "/bin/python3.11 -E -s\nimport sys\n",
		"other":   "#!/usr/bin/env bash\necho hi\n",
		"sh-form": "#!/bin/sh\n'''exec' '" + mode.PrefixPlaceholder + "/bin/python' \"$0\" \"$@\"\n' '''\nimport sys\n",
	}
	var text []string
	for n, body := range scripts {
		require.NoError(t, os.WriteFile(filepath.Join(bin, n), []byte(body), 0o755))
		text = append(text, "bin/"+n)
	}
	m := venvmode.New(venvmode.Options{Version: "test"})
	req := mode.RelocateRequest{Env: mode.Env{Prefix: prefix, Workdir: filepath.Dir(filepath.Dir(prefix))}, TextFiles: text}
	require.NoError(t, m.Relocate(context.Background(), req, nil))
	require.NoError(t, m.Relocate(context.Background(), req, nil), "idempotent")
	read := func(n string) string {
		b, err := os.ReadFile(filepath.Join(bin, n))
		require.NoError(t, err)
		return string(b)
	}
	assert.Equal(t, venvmode.Trampoline+"import sys\n", read("plain"))
	assert.Equal(t, venvmode.Trampoline+"import sys\n", read("sh-form"))
	assert.True(t, strings.HasPrefix(read("options"), "#!/bin/sh\n'''exec' \"$(dirname -- \"$(realpath -- \"$0\")\")/python\" -E -s \"$0\" \"$@\"\n' '''\n"), read("options"))
	assert.Equal(t, scripts["other"], read("other"))
}
