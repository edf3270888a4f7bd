package workflow

import (
	"context"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/linkfile"
)

// Modes gives mode implementations by name; core/plugin.Host satisfies it,
// and tests may pass an in-process harness.
type Modes interface {
	Mode(ctx context.Context, name string) (mode.Mode, error)
}

// Service runs the workflows.
type Service struct {
	Modes Modes
	// Events receives progress and log lines; may be nil.
	Events mode.Events
	// Version is the swcli version written into runtime.yaml and manifests.
	Version string
	Log     hclog.Logger
	// StorageRoot is the local instance's root (blobs, caches).
	StorageRoot string
	// LinkMode is how cached files (unpacked layers, pip seeds) are placed
	// into environments; Auto picks clone, else hardlink, else copy.
	LinkMode linkfile.Mode
	// OpenStore opens a store URL, for a local instance on another store
	// (instance.StoreEnv); may be nil.
	OpenStore func(ctx context.Context, rawURL string) (store.Store, error)

	openerOnce sync.Once
	opener     *instance.Opener
}

func (s *Service) log() hclog.Logger {
	if s.Log == nil {
		return hclog.NewNullLogger()
	}
	return s.Log
}

func (s *Service) stage(name string, cur, total int64) {
	s.Events.Emit(mode.Event{Stage: name, Current: cur, Total: total})
}
