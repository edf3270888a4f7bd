package venvmode_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/plugins/venv/venvmode"
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
	pip := func(args ...string) { t.Helper(); envPip(t, env.Prefix, args...) }
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

// TestPipCheckMemo: with a state folder, an Install that installed
// something ends with pip check and remembers a clean one, so the Lock with
// Check that follows runs no pip; installing a package whose dependency is
// broken (with pip itself, behind the mode's back) makes the next check run
// pip again and fail, and so on until the environment is consistent again.
// Without a state folder every check runs pip.
func TestPipCheckMemo(t *testing.T) {
	py := testpy.AnyPythons(t, 1)[0]
	wd := t.TempDir()
	wheels := filepath.Join(wd, "wheels")
	for _, w := range []testpy.Wheel{
		{Name: "dep-b", Version: "1.0"},
		{Name: "uses-b", Version: "1.0", Requires: []string{"dep-b>=1"}},
		{Name: "needs-b", Version: "1.0", Requires: []string{"dep-b>=2"}},
	} {
		_, err := testpy.BuildWheel(wheels, w)
		require.NoError(t, err)
	}
	ctx := context.Background()
	m := newMode()
	env := mode.Env{Workdir: wd, Prefix: filepath.Join(wd, ".starwhale", "venv"), Python: mode.Python{Version: py.Version},
		Pip: mode.PipConfig{NoIndex: true, FindLinks: []string{"wheels"}}, StateDir: filepath.Join(wd, ".starwhale", "state", "venv")}
	require.NoError(t, m.Create(ctx, mode.CreateRequest{Env: env}, nil))
	require.NoError(t, m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{{Kind: mode.DepPip, Packages: []string{"uses-b"}}}}, nil))
	assert.EqualValues(t, 1, venvmode.PipChecks(m), "Install ends with pip check")
	assert.FileExists(t, filepath.Join(env.StateDir, "pip-check.json"))

	check := func() error {
		_, err := m.Lock(ctx, mode.LockRequest{Env: env, Check: true}, nil)
		return err
	}
	require.NoError(t, check())
	require.NoError(t, check())
	assert.EqualValues(t, 1, venvmode.PipChecks(m), "an environment checked at install is not checked again")

	pip := func(args ...string) { t.Helper(); envPip(t, env.Prefix, args...) }
	pip("install", "--no-index", "--no-deps", "--find-links", wheels, "needs-b")
	for i := 0; i < 2; i++ {
		err := check()
		var me *mode.Error
		require.True(t, errors.As(err, &me), "a broken dependency installed after a clean check fails the next check: %v", err)
		assert.Equal(t, mode.ErrConflict, me.Code)
		assert.Contains(t, me.Message, "needs-b 1.0 has requirement dep-b>=2")
	}
	assert.EqualValues(t, 3, venvmode.PipChecks(m), "a failed check is not remembered")

	// Back to the very files that passed at install: nothing to run.
	pip("uninstall", "-y", "needs-b")
	require.NoError(t, check())
	assert.EqualValues(t, 3, venvmode.PipChecks(m), "the environment is again the one checked at install")

	// A change pip check must see even though no dist-info moved: the
	// interpreter's pyvenv.cfg.
	cfg := filepath.Join(env.Prefix, "pyvenv.cfg")
	data, err := os.ReadFile(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfg, append(data, []byte("# edited\n")...), 0o644))
	require.NoError(t, check())
	require.NoError(t, check())
	assert.EqualValues(t, 4, venvmode.PipChecks(m), "a changed environment is checked once, then remembered")

	noState := env
	noState.StateDir = ""
	_, err = m.Lock(ctx, mode.LockRequest{Env: noState, Check: true}, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 5, venvmode.PipChecks(m), "without a state folder every check runs pip")
}

// envPip runs the pip of the environment at prefix, behind the mode's back
// (no index reachable).
func envPip(t *testing.T, prefix string, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(prefix, "bin", "python"), append([]string{"-m", "pip", "--disable-pip-version-check"}, args...)...)
	cmd.Env = append(cmd.Environ(), "PIP_INDEX_URL=http://127.0.0.1:9/simple/")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
}
