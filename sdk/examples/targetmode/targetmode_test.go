package targetmode_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/examples/targetmode"
	"github.com/swcli/swcli/sdk/modetest"
	"github.com/swcli/swcli/sdk/sdktest"
	"github.com/swcli/swcli/sdk/testpy"
)

// TestConformance runs swcli's mode conformance suite against the target
// mode, over the real plugin protocol (gRPC in this process), with real
// Python and pip and no network. It skips when the machine has no Python 3.
func TestConformance(t *testing.T) {
	modetest.Run(t, modetest.Suite{New: func(t *testing.T) mode.Mode {
		return sdktest.ModeOverGRPC(t, targetmode.New())
	}})
}

// What the suite does not cover: upgrades in place (pip --target leaves the
// old dist-info behind; the mode removes it), a command dependency that
// runs pip itself, file dependencies, and conda dependencies refused.
func TestInstallDetails(t *testing.T) {
	py := testpy.AnyPythons(t, 1)[0]
	ctx := context.Background()
	root := t.TempDir()
	wheels := filepath.Join(root, "wheels")
	for _, v := range []string{"1.0", "2.0"} {
		_, err := testpy.BuildWheel(wheels, testpy.Wheel{Name: "tiny-up", Version: v,
			ConsoleScripts: map[string]string{"tiny-up": "tiny_up:main"}})
		require.NoError(t, err)
	}
	_, err := testpy.BuildWheel(wheels, testpy.Wheel{Name: "tiny-cmd", Version: "1.0"})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "notes.txt"), []byte("hi"), 0o644))

	m := sdktest.ModeOverGRPC(t, targetmode.New())
	env := mode.Env{Workdir: root, Prefix: filepath.Join(root, "env"), Python: mode.Python{Version: py.Version},
		Pip: mode.PipConfig{NoIndex: true, FindLinks: []string{"wheels"}}}
	require.NoError(t, m.Create(ctx, mode.CreateRequest{Env: env}, nil))
	require.NoError(t, m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{
		{Kind: mode.DepPip, Packages: []string{"tiny-up==1.0"}},
		{Kind: mode.DepPip, Packages: []string{"tiny-up==2.0"}},
		{Kind: mode.DepCommand, Command: "python -m pip install --no-index --find-links wheels tiny-cmd"},
		{Kind: mode.DepFile, Src: "notes.txt", Dest: "share/notes.txt"},
	}}, nil))

	lock, err := m.Lock(ctx, mode.LockRequest{Env: env}, nil)
	require.NoError(t, err)
	assert.Equal(t, []mode.LockedPackage{
		{Name: "tiny-cmd", Version: "1.0", Installer: "pip"},
		{Name: "tiny-up", Version: "2.0", Installer: "pip"},
	}, lock.Packages)
	assert.Equal(t, "tiny-cmd==1.0\ntiny-up==2.0\n", string(lock.Files[0].Content[bytes.IndexByte(lock.Files[0].Content, '\n')+1:]))

	out, err := exec.Command(filepath.Join(env.Prefix, "bin", "tiny-up")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "tiny-up 2.0 "+filepath.Join(env.Prefix, "site-packages"))
	_, err = os.Stat(filepath.Join(env.Prefix, "site-packages", "bin"))
	assert.True(t, os.IsNotExist(err), "pip's own scripts for the base interpreter are removed")
	b, err := os.ReadFile(filepath.Join(env.Prefix, "share", "notes.txt"))
	require.NoError(t, err)
	assert.Equal(t, "hi", string(b))

	err = m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{{Kind: mode.DepConda, Packages: []string{"numpy"}}}}, nil)
	var me *mode.Error
	require.True(t, errors.As(err, &me), "%v", err)
	assert.Equal(t, mode.ErrUnsupported, me.Code)
}
