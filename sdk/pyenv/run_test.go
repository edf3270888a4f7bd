package pyenv_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/pyenv"
)

// TestRun runs real commands: captured stdout with stderr streamed as
// events; a failure says pip's last ERROR line and carries the tail; a
// tool that cannot start is ErrNoTool.
func TestRun(t *testing.T) {
	ctx := context.Background()
	var events []string
	ev := mode.Events(func(e mode.Event) { events = append(events, e.Message) })
	res, err := pyenv.Run(ctx, pyenv.Command{Name: "/bin/sh", Args: []string{"-c", "echo out; echo err >&2"}, What: "echo", Capture: true}, ev)
	require.NoError(t, err)
	assert.Equal(t, "out\n", res.Stdout.String())
	assert.Equal(t, []string{"err"}, events)

	_, err = pyenv.Run(ctx, pyenv.Command{Name: "/bin/sh", Args: []string{"-c", "echo 'ERROR: no such package'; echo done; exit 3"}, What: "pip install x"}, ev)
	var me *mode.Error
	require.ErrorAs(t, err, &me)
	assert.Equal(t, mode.ErrToolFailed, me.Code)
	assert.Equal(t, "pip install x failed: ERROR: no such package", me.Message)
	assert.Contains(t, me.Detail, "done")

	err = pyenv.RunTool(ctx, ev, "", nil, "nothing", "/no/such/tool")
	require.ErrorAs(t, err, &me)
	assert.Equal(t, mode.ErrNoTool, me.Code)
}
