// Package venvmode is the venv environment mode: it implements mode.Mode
// in-process with Python's own venv module and pip. The plugin binary
// (plugins/venv) wraps it in gRPC with sdk.ServeMode; tests use it directly.
//
// It owns how a venv is created, filled, locked, restored, listed for packing
// and relocated. It keeps no state between calls but caches: everything it
// needs is read back from the environment at the prefix it is given, and what
// it remembers (interpreter probes and pip seeds in Env.CacheDir, the pip
// check memo in Env.StateDir) is checked against what it describes before
// use. It never talks to the host's store, bundles or gRPC.
//
// Every tool runs through sdk/pyenv.Run, in its own process group, so
// cancelling the context kills pip and whatever pip started.
package venvmode

import (
	"context"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"

	"github.com/swcli/swcli/core/mode"
)

// Name is the mode's name in runtime.yaml and in plugins.yaml.
const Name = "venv"

// Options configure a Mode.
type Options struct {
	// Version is the plugin's version, reported by Info.
	Version string
	// Logger receives debug logs (commands run). Nil means no logging.
	Logger hclog.Logger
}

// Mode is the venv mode.
type Mode struct {
	opts Options
	log  hclog.Logger
	// pipChecks counts the pip checks run (tests see what the memo saved).
	pipChecks atomic.Int64
}

var _ mode.Mode = (*Mode)(nil)

// New returns the venv mode.
func New(opts Options) *Mode {
	l := opts.Logger
	if l == nil {
		l = hclog.NewNullLogger()
	}
	return &Mode{opts: opts, log: l}
}

// Info describes the mode.
func (m *Mode) Info(ctx context.Context) (mode.Info, error) {
	return mode.Info{
		Name:             Name,
		Kind:             "mode",
		Version:          m.opts.Version,
		ProtocolVersions: []int{mode.ProtocolVersion},
		Capabilities:     mode.Capabilities{Relocate: true, IncludeEditable: true},
	}, nil
}
