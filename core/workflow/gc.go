package workflow

import (
	"context"

	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/registry"
)

// GCStats says what gc freed.
type GCStats struct {
	registry.GCStats
	CachesRemoved int `json:"caches_removed"`
}

// GC frees blobs no version of inst uses and, on the local instance, the
// restored environments of versions that no longer exist.
func (s *Service) GC(ctx context.Context, inst instance.Instance, o instance.GCOptions) (GCStats, error) {
	st, err := inst.GC(ctx, o)
	if err != nil {
		return GCStats{}, err
	}
	out := GCStats{GCStats: st}
	if l, ok := inst.(*instance.Local); ok && l.Root() == s.StorageRoot {
		out.CachesRemoved, err = s.gcCaches(ctx, l.Registry(), o.DryRun)
	}
	return out, err
}
