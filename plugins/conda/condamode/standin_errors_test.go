package condamode

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/testpy"
)

// standinEnv creates a stand-in conda environment of Python xy.
func standinEnv(t *testing.T, m *Mode, xy string) mode.Env {
	t.Helper()
	root := t.TempDir()
	env := mode.Env{Workdir: filepath.Join(root, "wd"), Prefix: filepath.Join(root, "prefix"),
		Python: mode.Python{Version: xy}, Pip: mode.PipConfig{NoIndex: true}}
	writeFile(t, filepath.Join(env.Workdir, "runtime.yaml"), "name: x\n")
	require.NoError(t, m.Create(ctxT(t), mode.CreateRequest{Env: env}, nil))
	return env
}

// TestStandinEnvFilePipError: when the pip: section of an env file fails,
// the error says what pip said, not only conda's "Pip failed".
func TestStandinEnvFilePipError(t *testing.T) {
	py := testpy.AnyPythons(t, 1)[0]
	m, _ := standin(t)
	env := standinEnv(t, m, py.Version)
	writeFile(t, filepath.Join(env.Workdir, "environment.yaml"), "name: x\ndependencies:\n  - pip:\n    - nothere==1.0\n")
	t.Setenv("PIP_NO_INDEX", "1")
	err := m.Install(ctxT(t), mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{{Kind: mode.DepCondaEnv, Path: "environment.yaml"}}}, nil)
	me := modeErr(t, err, mode.ErrToolFailed)
	assert.Contains(t, me.Message, "No matching distribution found for nothere==1.0")
	assert.Contains(t, me.Message, "env update -f environment.yaml failed")
}

// TestStandinPythonPinRefused: conda dependencies that replace the
// environment's Python with another X.Y are refused, naming both.
func TestStandinPythonPinRefused(t *testing.T) {
	pys := testpy.AnyPythons(t, 2)
	have, other := pys[0], pys[1]
	m, _ := standin(t)
	env := standinEnv(t, m, have.Version)
	err := m.Install(ctxT(t), mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{{Kind: mode.DepConda, Packages: []string{"python=" + other.Version}}}}, nil)
	me := modeErr(t, err, mode.ErrInvalid)
	assert.Contains(t, me.Message, "installed Python "+other.Version+".")
	assert.Contains(t, me.Message, `environment.python is "`+have.Version+`"`)

	// The same X.Y is fine.
	require.NoError(t, m.Install(ctxT(t), mode.InstallRequest{Env: standinEnv(t, m, have.Version), Dependencies: []mode.Dependency{{Kind: mode.DepConda, Packages: []string{"python=" + have.Version}}}}, nil))
}

// TestStandinEnvFileFindLinksWheelLocked: a wheel that the pip: section of
// an env file installs through --find-links is locked with its source and
// hash (so the build carries it), and the lock restores offline from it.
func TestStandinEnvFileFindLinksWheelLocked(t *testing.T) {
	py := testpy.AnyPythons(t, 1)[0]
	m, _ := standin(t)
	env := standinEnv(t, m, py.Version)
	t.Setenv("PIP_NO_INDEX", "1")
	buildWheel(t, filepath.Join(env.Workdir, "wheels"), testpy.Wheel{Name: "my-lib", Version: "1.0"})
	writeFile(t, filepath.Join(env.Workdir, "environment.yaml"), "name: x\ndependencies:\n  - pip:\n    - --find-links wheels\n    - my-lib==1.0\n")
	ctx := ctxT(t)
	require.NoError(t, m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{{Kind: mode.DepCondaEnv, Path: "environment.yaml"}}}, nil))
	lock, err := m.Lock(ctx, mode.LockRequest{Env: env}, nil)
	require.NoError(t, err)
	p, ok := findPkg(lock.Packages, "my-lib")
	require.True(t, ok)
	assert.Equal(t, "wheels/my_lib-1.0-py3-none-any.whl", p.Source)
	sum, err := fileSHA256(filepath.Join(env.Workdir, "wheels", "my_lib-1.0-py3-none-any.whl"))
	require.NoError(t, err)
	assert.Equal(t, []string{"sha256:" + sum}, p.Hashes)

	// Restored from the lock with no index and no find-links: the locked
	// source is enough.
	env2 := env
	env2.Prefix = filepath.Join(t.TempDir(), "prefix")
	require.NoError(t, m.Restore(ctx, mode.RestoreRequest{Env: env2, Lock: lock}, nil))
	lock2, err := m.Lock(ctx, mode.LockRequest{Env: env2}, nil)
	require.NoError(t, err)
	p2, ok := findPkg(lock2.Packages, "my-lib")
	require.True(t, ok)
	assert.Equal(t, p.Source, p2.Source)
}
