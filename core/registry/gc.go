package registry

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/swcli/swcli/core/store"
)

// GCStats reports what GC freed (or, in a dry run, would free).
type GCStats struct {
	BlobsFreed int   `json:"blobs_freed"`
	BytesFreed int64 `json:"bytes_freed"`
	BlobsKept  int   `json:"blobs_kept"`
}

// GCOption changes how GC runs.
type GCOption func(*gcOptions)

type gcOptions struct {
	grace  time.Duration
	dryRun bool
}

// DefaultGracePeriod protects blobs younger than this from GC: a build or a
// copy in progress has written them but not yet its version record.
const DefaultGracePeriod = time.Hour

// GracePeriod sets how old an unreferenced blob must be to be freed
// (DefaultGracePeriod unless set; 0 frees every unreferenced blob).
func GracePeriod(d time.Duration) GCOption { return func(o *gcOptions) { o.grace = d } }

// DryRun counts what GC would free without deleting anything.
func DryRun() GCOption { return func(o *gcOptions) { o.dryRun = true } }

// GC frees blobs that no version references: it marks the manifest, config
// and layers of every version record in every project (removed versions
// included: they can be recovered), then deletes the other blobs older than
// the grace period. A record whose manifest is missing or unreadable stops
// GC with an error rather than risk freeing what it needs.
func (r *Registry) GC(ctx context.Context, opts ...GCOption) (GCStats, error) {
	o := gcOptions{grace: DefaultGracePeriod}
	for _, opt := range opts {
		opt(&o)
	}
	cutoff := time.Now().Add(-o.grace)

	var records []string
	err := r.s.List(ctx, projectsPrefix, func(info store.Info) error {
		// projects/<p>/<kind>s/<name>/versions/<hex>, every kind
		parts := strings.Split(info.Key, "/")
		if _, ok := kindOfSegment(parts[min(2, len(parts)-1)]); ok && len(parts) == 6 && parts[4] == "versions" {
			records = append(records, info.Key)
		}
		return nil
	})
	if err != nil {
		return GCStats{}, fmt.Errorf("registry: gc: %w", err)
	}
	var (
		mu     sync.Mutex
		marked = map[digest.Digest]bool{}
	)
	err = parallel(ctx, len(records), func(ctx context.Context, i int) error {
		var rec versionRecord
		err := r.readJSON(ctx, records[i], &rec)
		if isNotFound(err) {
			return nil // hard-removed meanwhile
		}
		if err != nil {
			return err
		}
		b, err := r.Manifest(ctx, Version{Digest: rec.Digest})
		if err != nil {
			return fmt.Errorf("%s: manifest: %w", records[i], err)
		}
		m, err := parseAnyManifest(b, rec.MediaType)
		if err != nil {
			return fmt.Errorf("%s: %w", records[i], err)
		}
		mu.Lock()
		defer mu.Unlock()
		marked[rec.Digest] = true
		for _, d := range m.blobs() {
			marked[d.Digest] = true
		}
		return nil
	})
	if err != nil {
		return GCStats{}, fmt.Errorf("registry: gc: %w", err)
	}

	var (
		stats  GCStats
		victim []store.Info
	)
	err = r.s.List(ctx, "blobs/", func(info store.Info) error {
		alg, hex, _ := strings.Cut(strings.TrimPrefix(info.Key, "blobs/"), "/")
		d := digest.NewDigestFromEncoded(digest.Algorithm(alg), hex)
		if strings.Contains(hex, "/") || checkDigest(d) != nil || marked[d] || !info.ModTime.Before(cutoff) {
			stats.BlobsKept++
			return nil
		}
		victim = append(victim, info)
		return nil
	})
	if err != nil {
		return GCStats{}, fmt.Errorf("registry: gc: %w", err)
	}
	for _, info := range victim {
		if !o.dryRun {
			if err := r.s.Delete(ctx, info.Key); err != nil {
				return stats, fmt.Errorf("registry: gc: %w", err)
			}
		}
		stats.BlobsFreed++
		stats.BytesFreed += info.Size
	}
	return stats, nil
}
