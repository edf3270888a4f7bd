package venvmode

import (
	"context"
	"encoding/json"
	"path/filepath"

	"github.com/swcli/swcli/core/mode"
)

// RequiresAnything is requiresAnything, for the external tests.
var RequiresAnything = requiresAnything

// PipChecks is how many times m ran pip check.
func PipChecks(m *Mode) int64 { return m.pipChecks.Load() }

// LockInfos returns, as JSON, what Lock learns of env by reading it in Go
// (ok false when readDists leaves it to the script) and from the inspect
// script.
func LockInfos(ctx context.Context, m *Mode, env mode.Env) (goJSON string, ok bool, pyJSON string, err error) {
	prefix := filepath.Clean(env.Prefix)
	g, ok := readDists(ctx, env, prefix)
	py, err := m.inspect(ctx, prefix)
	if err != nil {
		return "", ok, "", err
	}
	py.BasePrefix = "" // readDists does not know it, and Lock does not use it
	pj, _ := json.Marshal(py)
	if !ok {
		return "", false, string(pj), nil
	}
	gj, _ := json.Marshal(g)
	return string(gj), true, string(pj), nil
}
