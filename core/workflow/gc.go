package workflow

import (
	"context"

	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/layercache"
	"github.com/swcli/swcli/core/registry"
)

// GCStats says what gc freed.
type GCStats struct {
	registry.GCStats
	CachesRemoved int `json:"caches_removed"`
	// LayerCache is what gc freed from the unpacked-layer cache (with
	// --dry-run: would free) and its size after.
	LayerCache LayerCacheStats `json:"layer_cache"`
	// ModeCaches is what gc freed (with --dry-run: would free) from the
	// modes' caches: pip seeds, venv skeletons and interpreter probes of
	// interpreters that no longer exist.
	ModeCaches layercache.Stats `json:"mode_caches"`
}

// GC frees blobs no version of inst uses and, on the local instance (over
// whatever store it uses), the restored environments of versions that no
// longer exist, the cached layers no version uses, and the modes' cache
// entries of interpreters that are gone.
func (s *Service) GC(ctx context.Context, inst instance.Instance, o instance.GCOptions) (GCStats, error) {
	st, err := inst.GC(ctx, o)
	if err != nil {
		return GCStats{}, err
	}
	out := GCStats{GCStats: st}
	if l, ok := inst.(*instance.Local); ok && l.Root() == s.StorageRoot {
		out.CachesRemoved, err = s.gcCaches(ctx, l, o.DryRun)
		if err != nil {
			return out, err
		}
		if out.LayerCache, err = s.gcLayerCache(ctx, l, o.DryRun); err != nil {
			return out, err
		}
		out.ModeCaches, err = s.gcModeCaches(ctx, o.DryRun)
	}
	return out, err
}
