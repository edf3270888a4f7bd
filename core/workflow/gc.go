package workflow

import (
	"context"
	"time"

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

// GC frees blobs no version uses and the restored environments of versions
// that no longer exist.
func (s *Service) GC(ctx context.Context, grace time.Duration, dryRun bool) (GCStats, error) {
	reg, _, err := s.Local()
	if err != nil {
		return GCStats{}, err
	}
	opts := []registry.GCOption{registry.GracePeriod(grace)}
	if dryRun {
		opts = append(opts, registry.DryRun())
	}
	st, err := reg.GC(ctx, opts...)
	if err != nil {
		return GCStats{}, err
	}
	out := GCStats{GCStats: st}
	n, err := s.gcCaches(ctx, reg, dryRun)
	out.CachesRemoved = n
	if err != nil {
		return out, err
	}
	out.LayerCache, err = s.gcLayerCache(ctx, reg, dryRun)
	return out, err
}
