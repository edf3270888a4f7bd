package plugin_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/plugin"
)

// oldSDK is the last commit whose sdk kept the wire in sdk/internal (before
// it moved to internal/pluginwire and capabilities became typed): a plugin
// built from it is what an already-built third-party plugin looks like.
const oldSDK = "cc06273f1cdd078674cab135ce68dbb48e452f48"

// TestPluginBuiltFromOldSDK builds testdata/crashmode from the old layout
// (git archive of oldSDK, built offline against the module cache) and runs
// it under today's host: handshake, Info, a streamed call and a crash all
// work as before. Skips, saying why, outside a git checkout that has the
// commit.
func TestPluginBuiltFromOldSDK(t *testing.T) {
	t.Parallel()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	if err := exec.Command("git", "-C", root, "cat-file", "-e", oldSDK+"^{commit}").Run(); err != nil {
		t.Skipf("git checkout with commit %.12s needed to build the old sdk: %v", oldSDK, err)
	}
	src := t.TempDir()
	archive := exec.Command("sh", "-c", `git -C "$1" archive "$2" go.mod go.sum core sdk internal | tar -x -C "$3"`, "sh", root, oldSDK, src)
	out, err := archive.CombinedOutput()
	require.NoError(t, err, "%s", out)
	bin := filepath.Join(t.TempDir(), "swcli-plugin-oldcrash")
	build := exec.Command("go", "build", "-o", bin, "./core/plugin/testdata/crashmode")
	build.Dir = src
	build.Env = append(os.Environ(), "GOPROXY=off", "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err = build.CombinedOutput()
	require.NoError(t, err, "build crashmode from the old sdk: %s", out)

	h := plugin.NewHost(catalog(t, "oldcrash", "mode", bin, ""), nil)
	defer h.Close()
	ctx := context.Background()
	info, _, err := h.Info(ctx, "oldcrash")
	require.NoError(t, err)
	assert.Equal(t, "crashmode", info.Name)
	assert.Equal(t, []int{mode.ProtocolVersion}, info.ProtocolVersions)

	m, err := h.Mode(ctx, "oldcrash")
	require.NoError(t, err)
	env := mode.Env{Prefix: filepath.Join(t.TempDir(), "env")}
	var events []mode.Event
	require.NoError(t, m.Create(ctx, mode.CreateRequest{Env: env}, func(e mode.Event) { events = append(events, e) }))
	require.NotEmpty(t, events)
	assert.Contains(t, events[0].Message, "crashmode creating")
	_, err = m.Activation(ctx, mode.ActivationRequest{Env: env, Shell: "sh"})
	var me *mode.Error
	require.ErrorAs(t, err, &me, "typed errors cross the old wire")
	assert.Equal(t, mode.ErrUnsupported, me.Code)
	err = m.Install(ctx, mode.InstallRequest{Env: env}, nil)
	var ce *plugin.CrashError
	require.ErrorAs(t, err, &ce)
}
