package condamode

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/testpy"
)

// TestRealConda runs create → install → lock → files → restore with a real
// conda, mamba or micromamba. It needs SW_TEST_REAL_CONDA=1, the tool on PATH
// (or $SW_CONDA_EXE) and access to its channels (conda-forge unless
// SW_TEST_REAL_CONDA_CHANNEL says otherwise). SW_TEST_REAL_CONDA_PYTHON picks
// the Python version (default 3.11).
func TestRealConda(t *testing.T) {
	if os.Getenv("SW_TEST_REAL_CONDA") != "1" {
		t.Skip("set SW_TEST_REAL_CONDA=1 to run against a real conda, mamba or micromamba (needs its channels)")
	}
	m := New(Options{})
	ctx := ctxT(t)
	tl, err := m.findTool(ctx)
	if err != nil {
		t.Skipf("SW_TEST_REAL_CONDA=1 but no real conda, mamba or micromamba on PATH: %v", err)
	}
	tl.probeVersion(ctx)
	if strings.Contains(tl.version, "(stand-in)") {
		t.Skipf("%s is the test stand-in, not a real conda", tl.path)
	}
	t.Logf("using %s %s (%s)", tl.name, tl.version, tl.path)
	xy := os.Getenv("SW_TEST_REAL_CONDA_PYTHON")
	if xy == "" {
		xy = "3.11"
	}
	channel := os.Getenv("SW_TEST_REAL_CONDA_CHANNEL")
	if channel == "" {
		channel = "conda-forge"
	}
	root := t.TempDir()
	wd := filepath.Join(root, "wd")
	wheel := buildWheel(t, filepath.Join(wd, "wheels"), testpy.Wheel{Name: "demo-pkg", Version: "1.0",
		ConsoleScripts: map[string]string{"demo-cli": "demo_pkg:main"}})
	env := mode.Env{Workdir: wd, Prefix: filepath.Join(root, "env"), Python: mode.Python{Version: xy},
		Conda: mode.CondaConfig{Channels: []string{channel}}, Pip: mode.PipConfig{NoIndex: true}}
	log := func(e mode.Event) {
		if e.Level != "" && e.Level != "debug" {
			t.Log(e.Message)
		}
	}
	require.NoError(t, m.Create(ctx, mode.CreateRequest{Env: env}, log))
	require.NoError(t, m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{
		{Kind: mode.DepConda, Packages: []string{"zlib"}},
		{Kind: mode.DepWheel, Packages: []string{"wheels/" + filepath.Base(wheel)}},
	}}, log))
	lock, err := m.Lock(ctx, mode.LockRequest{Env: env}, log)
	require.NoError(t, err)
	_, ok := findPkg(lock.Packages, "zlib")
	assert.True(t, ok, "zlib locked")
	d, ok := findPkg(lock.Packages, "demo-pkg")
	require.True(t, ok)
	assert.Equal(t, mode.InstallerPip, d.Installer)
	assert.Equal(t, "wheels/"+filepath.Base(wheel), d.Source)
	py, ok := findPkg(lock.Packages, "python")
	require.True(t, ok)
	assert.Equal(t, mode.InstallerConda, py.Installer)

	files, err := m.Files(ctx, mode.FilesRequest{Env: env})
	require.NoError(t, err)
	assert.Equal(t, lock.Python, files.Python)

	env2 := env
	env2.Prefix = filepath.Join(root, "restored")
	require.NoError(t, m.Restore(ctx, mode.RestoreRequest{Env: env2, Lock: lock}, log))
	lock2, err := m.Lock(ctx, mode.LockRequest{Env: env2}, log)
	require.NoError(t, err)
	assert.Equal(t, lock.Packages, lock2.Packages)
	out, err := exec.Command(filepath.Join(env2.Prefix, "bin", "demo-cli")).CombinedOutput()
	require.NoError(t, err, string(out))
}
