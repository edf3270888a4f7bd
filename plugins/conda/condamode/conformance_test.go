package condamode

import (
	"testing"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/modetest"
)

// TestStandinConformance runs the mode conformance suite (in-process) against
// the conda stand-in.
func TestStandinConformance(t *testing.T) {
	m, _ := standin(t)
	modetest.Run(t, modetest.Suite{New: func(t *testing.T) mode.Mode { return m }})
}
