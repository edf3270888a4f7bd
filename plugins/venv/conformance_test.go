package main

import (
	"testing"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/plugins/venv/venvmode"
	"github.com/swcli/swcli/sdk/modetest"
	"github.com/swcli/swcli/sdk/sdktest"
)

// TestConformance runs the mode conformance suite against the venv mode over
// the real plugin protocol (in-process gRPC).
func TestConformance(t *testing.T) {
	// The user's cache (~/.cache/swcli) is shared with every swcli on the
	// machine, of any version: the suite gets its own.
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	modetest.Run(t, modetest.Suite{New: func(t *testing.T) mode.Mode {
		return sdktest.ModeOverGRPC(t, venvmode.New(venvmode.Options{Version: "test"}))
	}})
}
