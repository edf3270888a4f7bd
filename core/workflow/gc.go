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
	// LayerCache is what gc freed from the unpacked-layer cache (with
	// --dry-run: would free) and its size after.
	LayerCache LayerCacheStats `json:"layer_cache"`
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
		if err != nil {
			return out, err
		}
		out.LayerCache, err = s.gcLayerCache(ctx, l, o.DryRun)
	}
	return out, err
}
