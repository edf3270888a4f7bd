package venvmode_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/testpy"
)

// TestLockCheck: Lock with Check runs pip check; conflicts fail with
// ErrConflict naming the first one and counting the rest, the full output in
// Detail; without Check, or once consistent, the lock is returned.
func TestLockCheck(t *testing.T) {
	py := testpy.AnyPythons(t, 1)[0]
	wd := t.TempDir()
	wheels := filepath.Join(wd, "wheels")
	var paths []string
	for _, w := range []testpy.Wheel{
		{Name: "dep-b", Version: "1.0"},
		{Name: "dep-c", Version: "1.0"},
		{Name: "needs-b", Version: "1.0", Requires: []string{"dep-b>=2"}},
		{Name: "needs-c", Version: "1.0", Requires: []string{"dep-c>=3"}},
	} {
		p, err := testpy.BuildWheel(wheels, w)
		require.NoError(t, err)
		paths = append(paths, p)
	}
	ctx := context.Background()
	m := newMode()
	env := mode.Env{Workdir: wd, Prefix: filepath.Join(wd, ".starwhale", "venv"), Python: mode.Python{Version: py.Version}}
	require.NoError(t, m.Create(ctx, mode.CreateRequest{Env: env}, nil))
	pip := func(args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(env.Prefix, "bin", "python"), append([]string{"-m", "pip", "--disable-pip-version-check"}, args...)...)
		cmd.Env = append(cmd.Environ(), "PIP_INDEX_URL=http://127.0.0.1:9/simple/")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
	}
	pip(append([]string{"install", "--no-index", "--no-deps"}, paths...)...)

	_, err := m.Lock(ctx, mode.LockRequest{Env: env, Check: true}, nil)
	var me *mode.Error
	require.True(t, errors.As(err, &me), "%v", err)
	assert.Equal(t, mode.ErrConflict, me.Code)
	assert.Regexp(t, `^pip check: needs-[bc] 1\.0 has requirement dep-[bc]>=[23], but you have dep-[bc] 1\.0\.? \(and 1 more\)$`, me.Message)
	assert.Contains(t, me.Detail, "needs-b")
	assert.Contains(t, me.Detail, "needs-c")

	lock, err := m.Lock(ctx, mode.LockRequest{Env: env}, nil)
	require.NoError(t, err, "without Check a conflicted environment still locks")
	var all []string
	for _, p := range lock.Packages {
		all = append(all, p.Name)
	}
	assert.Subset(t, all, []string{"dep-b", "dep-c", "needs-b", "needs-c"})

	pip("uninstall", "-y", "needs-b", "needs-c")
	lock, err = m.Lock(ctx, mode.LockRequest{Env: env, Check: true}, nil)
	require.NoError(t, err)
	var names []string
	for _, p := range lock.Packages {
		names = append(names, p.Name)
	}
	assert.Subset(t, names, []string{"dep-b", "dep-c"})
	assert.NotContains(t, names, "needs-b")
}
