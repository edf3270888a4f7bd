package pyenv_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/internal/treecache"
	"github.com/swcli/swcli/sdk/pyenv"
	"github.com/swcli/swcli/sdk/testpy"
)

// TestProbeCacheRunsPythonOncePerBuild probes a real Python through a
// wrapper script that counts its runs: a second probe and a second Output
// of the same script read the cache; a changed wrapper (another build at
// the same path) is probed again and its outputs made again; and once the
// wrapper is gone, Prune drops its entry.
func TestProbeCacheRunsPythonOncePerBuild(t *testing.T) {
	py := testpy.AnyPythons(t, 1)[0]
	ctx := context.Background()
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	wrapper := filepath.Join(dir, "python3")
	writeWrapper := func(extra string) {
		require.NoError(t, os.WriteFile(wrapper, []byte("#!/bin/sh\n"+extra+"echo probe >> '"+runs+"'\nexec '"+py.Path+"' \"$@\"\n"), 0o755))
	}
	count := func(what string) int {
		b, _ := os.ReadFile(runs)
		return strings.Count(string(b), what)
	}
	writeWrapper("")
	c := &pyenv.ProbeCache{Dir: filepath.Join(dir, "cache")}

	it, err := c.Probe(ctx, wrapper)
	require.NoError(t, err)
	assert.Equal(t, py.Version, it.Version)
	assert.Equal(t, py.Patch, it.Patch)
	assert.Regexp(t, `^cp3\d+`, it.ABI)
	assert.NotEmpty(t, it.Platform)
	assert.NotEmpty(t, it.ID)
	again, err := c.Probe(ctx, wrapper)
	require.NoError(t, err)
	assert.Equal(t, it, again)
	assert.Equal(t, 1, count("probe"), "the second probe reads the cache")

	script := "open(" + pyQuote(runs) + ", 'a').write('output\\n'); print('hello')"
	for range 2 {
		out, err := c.Output(ctx, it, script)
		require.NoError(t, err)
		assert.Equal(t, "hello\n", string(out))
	}
	assert.Equal(t, 1, count("output"), "the second Output reads the cache")

	writeWrapper("# another build\n")
	changed, err := c.Probe(ctx, wrapper)
	require.NoError(t, err)
	assert.Equal(t, 2, count("probe"), "a changed interpreter is probed again")
	assert.NotEqual(t, it.ID, changed.ID)
	_, err = c.Output(ctx, changed, script)
	require.NoError(t, err)
	assert.Equal(t, 2, count("output"), "its outputs are made again")

	require.NoError(t, os.Remove(wrapper))
	gone, err := (&treecache.Cache{Root: c.Dir}).Prune(ctx, false)
	require.NoError(t, err)
	require.Len(t, gone, 1, "the probe of the wrapper requires it")
	assert.Equal(t, wrapper, gone[0].Missing)
}

func pyQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }
