package plugin_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/plugin"
	"github.com/swcli/swcli/internal/testbin"
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
	bin := testbin.BuildAt(t, oldSDK, "./core/plugin/testdata/crashmode", "go.mod", "go.sum", "core", "sdk", "internal")

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
