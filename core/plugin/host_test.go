package plugin_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/plugin"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/testbin"
)

// built are the testdata plugins built so far in this test process, each
// once, into builtDir.
var (
	builtMu  sync.Mutex
	built    = map[string]string{}
	builtDir string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// testdataPlugin builds ./testdata/<name> once per test process and
// returns the binary's path.
func testdataPlugin(t *testing.T, name string) string {
	t.Helper()
	builtMu.Lock()
	defer builtMu.Unlock()
	if bin, ok := built[name]; ok {
		return bin
	}
	if builtDir == "" {
		d, err := os.MkdirTemp("", "swcli-plugin-testdata-")
		require.NoError(t, err)
		builtDir = d
	}
	_, file, _, _ := runtime.Caller(0)
	bin := filepath.Join(builtDir, "swcli-plugin-"+name)
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/"+name)
	cmd.Dir = filepath.Dir(file)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "build testdata/%s: %s", name, out)
	built[name] = bin
	return bin
}

// crashPlugin is testdata/crashmode, built once.
func crashPlugin(t *testing.T) string { return testdataPlugin(t, "crashmode") }

// catalog writes a plugins.yaml listing one mode plugin and loads it.
func catalog(t *testing.T, name, kind, bin, sum string) *plugin.Catalog {
	t.Helper()
	body := fmt.Sprintf("plugins:\n  - name: %s\n    kind: %s\n    command: %s\n", name, kind, bin)
	if sum != "" {
		body += "    sha256: " + sum + "\n"
	}
	p := writeFile(t, t.TempDir(), "plugins.yaml", body)
	c, err := plugin.Load([]string{p})
	require.NoError(t, err)
	return c
}

func venvCatalog(t *testing.T) *plugin.Catalog {
	t.Helper()
	bin := filepath.Join(testbin.Dir(t), "swcli-plugin-venv")
	sum, err := plugin.FileSHA256(bin)
	require.NoError(t, err)
	return catalog(t, "venv", "mode", bin, sum)
}

// alive says whether pid is a running (not zombie) process.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) STATE ...
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func waitGone(t *testing.T, pids []int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		assert.False(t, alive(pid), "plugin process %d still running", pid)
	}
}

func TestHostLazyStartInfoAndClose(t *testing.T) {
	t.Parallel()
	h := plugin.NewHost(venvCatalog(t), nil)
	defer h.Close()
	assert.Empty(t, h.PIDs(), "nothing starts before it is needed")

	ctx := context.Background()
	info, e, err := h.Info(ctx, "venv")
	require.NoError(t, err)
	assert.Equal(t, "venv", info.Name)
	assert.Equal(t, "mode", info.Kind)
	assert.Contains(t, info.ProtocolVersions, mode.ProtocolVersion)
	assert.Equal(t, "venv", e.Name)
	pids := h.PIDs()
	require.Len(t, pids, 1)
	assert.True(t, alive(pids[0]))

	m, err := h.Mode(ctx, "venv")
	require.NoError(t, err)
	assert.Equal(t, pids, h.PIDs(), "a running plugin is reused")
	act, err := m.Activation(ctx, mode.ActivationRequest{Env: mode.Env{Prefix: "/tmp/x"}, Shell: "bash", Name: "x"})
	require.NoError(t, err)
	assert.Contains(t, act.Script, "VIRTUAL_ENV")

	h.Close()
	assert.Empty(t, h.PIDs())
	waitGone(t, pids)
}

func TestHostRefusesChecksumMismatch(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(testbin.Dir(t), "swcli-plugin-venv")
	h := plugin.NewHost(catalog(t, "venv", "mode", bin, sum64), nil)
	defer h.Close()
	_, err := h.Mode(context.Background(), "venv")
	var ce *plugin.ChecksumError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, bin, ce.Path)
	assert.Contains(t, err.Error(), bin, "the error names the file")
	assert.Contains(t, err.Error(), "refusing to run")
	assert.Empty(t, h.PIDs(), "nothing was started")
}

func TestHostKindMismatch(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(testbin.Dir(t), "swcli-plugin-venv")
	h := plugin.NewHost(catalog(t, "venv", "store", bin, ""), nil)
	defer h.Close()
	_, _, err := h.Info(context.Background(), "venv")
	require.Error(t, err)
	var le *plugin.LaunchError
	require.ErrorAs(t, err, &le)
	assert.Contains(t, err.Error(), `"venv"`)
	waitGone(t, h.PIDs())
}

func TestHostNotAPlugin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := writeFile(t, dir, "fake", "#!/bin/sh\necho hello\nexit 0\n")
	require.NoError(t, os.Chmod(bin, 0o755))
	h := plugin.NewHost(catalog(t, "fake", "mode", bin, ""), nil)
	defer h.Close()
	_, err := h.Mode(context.Background(), "fake")
	var le *plugin.LaunchError
	require.ErrorAs(t, err, &le)
	assert.Contains(t, err.Error(), `plugin "fake"`)
}

func TestHostCrashNamesPlugin(t *testing.T) {
	t.Parallel()
	bin := crashPlugin(t)
	sum, err := plugin.FileSHA256(bin)
	require.NoError(t, err)
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := hclog.New(&hclog.LoggerOptions{Name: "swcli", Level: hclog.Debug, Output: &lockedWriter{w: &logs, mu: &mu}})
	h := plugin.NewHost(catalog(t, "crashmode", "mode", bin, sum), logger)
	defer h.Close()

	ctx := context.Background()
	m, err := h.Mode(ctx, "crashmode")
	require.NoError(t, err)
	pids := h.PIDs()
	require.Len(t, pids, 1)

	env := mode.Env{Prefix: filepath.Join(t.TempDir(), "env"), Python: mode.Python{Version: "3.9"}}
	var events []mode.Event
	require.NoError(t, m.Create(ctx, mode.CreateRequest{Env: env}, func(e mode.Event) { events = append(events, e) }))
	require.NotEmpty(t, events, "events stream back from the plugin")
	assert.Contains(t, events[0].Message, "crashmode creating")

	err = m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{{Kind: mode.DepPip, Packages: []string{"x"}}}}, nil)
	require.Error(t, err)
	var ce *plugin.CrashError
	require.ErrorAs(t, err, &ce, "got %T: %v", err, err)
	assert.Equal(t, "crashmode", ce.Name)
	assert.Contains(t, err.Error(), `plugin "crashmode"`)
	assert.Contains(t, err.Error(), bin)
	waitGone(t, pids)

	// A crashed plugin is started again on the next call.
	m2, err := h.Mode(ctx, "crashmode")
	require.NoError(t, err)
	_, err = m2.Info(ctx)
	require.NoError(t, err)
	pids2 := h.PIDs()
	require.Len(t, pids2, 1)
	assert.NotEqual(t, pids, pids2)
	h.Close()
	waitGone(t, pids2)

	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, logs.String(), "crashmode create called", "plugin logs reach the host's hclog logger")
}

// TestHostStoreCrashNamesStore: a store plugin that dies during a call
// gives an error naming the store and the plugin, as a mode's does, and
// keys are checked before a plugin sees them.
func TestHostStoreCrashNamesStore(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "swcli-plugin-store")
	require.NoError(t, os.Link(testdataPlugin(t, "oddkind"), bin))
	h := plugin.NewHost(catalog(t, "teststore", "store", bin, ""), nil)
	defer h.Close()
	ctx := context.Background()
	s, err := h.Store(ctx, "teststore")
	require.NoError(t, err)

	_, err = s.Stat(ctx, "../etc")
	var ik *store.InvalidKeyError
	require.ErrorAs(t, err, &ik)
	assert.Equal(t, `store "teststore": stat ../etc: store: invalid key "../etc": segment .. is not allowed`, err.Error())
	pids := h.PIDs()
	require.Len(t, pids, 1, "the plugin is still up: it never saw the bad key")

	_, err = s.Stat(ctx, "blobs/x")
	var ce *plugin.CrashError
	require.ErrorAs(t, err, &ce, "got %T: %v", err, err)
	var de *store.DriverError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "teststore", de.Store)
	assert.Contains(t, err.Error(), `store "teststore": stat blobs/x: plugin "teststore" (`+bin+`) crashed or was killed`)
	waitGone(t, pids)
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
