package condamode

import (
	"testing"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/modetest"
	"github.com/swcli/swcli/sdk/sdktest"
)

// TestStandinConformance runs the mode conformance suite against the conda
// stand-in, in-process and over the real plugin protocol (gRPC).
func TestStandinConformance(t *testing.T) {
	m, _ := standin(t)
	t.Run("in-process", func(t *testing.T) {
		modetest.Run(t, modetest.Suite{New: func(t *testing.T) mode.Mode { return m }})
	})
	t.Run("grpc", func(t *testing.T) {
		modetest.Run(t, modetest.Suite{New: func(t *testing.T) mode.Mode { return sdktest.ModeOverGRPC(t, m) }})
	})
}
