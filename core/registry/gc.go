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
	grace, lease time.Duration
	leaseSet     bool
	dryRun       bool
}

// DefaultGracePeriod protects blobs younger than this from GC: a build or a
// copy in progress has written them but not yet its version record.
const DefaultGracePeriod = time.Hour

// GracePeriod sets how old an unreferenced blob must be to be freed
// (DefaultGracePeriod unless set; 0 frees every unreferenced blob).
func GracePeriod(d time.Duration) GCOption { return func(o *gcOptions) { o.grace = d } }

// LeaseTTL sets how long a lease (see touch) keeps a blob from GC; default:
// the grace period.
func LeaseTTL(d time.Duration) GCOption {
	return func(o *gcOptions) { o.lease, o.leaseSet = d, true }
}

// DryRun counts what GC would free without deleting anything.
func DryRun() GCOption { return func(o *gcOptions) { o.dryRun = true } }

// leasesPrefix holds one key per blob that a writer found already stored
// and is about to reference (leases/<alg>/<hex>); its modification time,
// the store's clock, is when that was last seen.
const leasesPrefix = "leases/"

func leaseKey(d digest.Digest) string {
	return leasesPrefix + string(d.Algorithm()) + "/" + d.Encoded()
}

// touch records that a writer is about to reference stored blob d without
// writing it (an OCI HEAD that makes the client skip the upload, a mount, a
// dedupe on build, a link before a version record): GC keeps a blob with a
// lease younger than the lease TTL, whichever server or process runs it.
// The lease is a key in the store, so it is seen by every server on a
// shared bucket.
func (r *Registry) touch(ctx context.Context, d digest.Digest) error {
	if err := store.Mark(ctx, r.s, leaseKey(d), []byte(markRecord)); err != nil {
		return fmt.Errorf("registry: lease blob %s: %w", d, err)
	}
	return nil
}

// GC frees blobs that no version references: it marks the manifest, config
// and layers of every version record in every project (removed versions
// included: they can be recovered) and every blob with a lease younger than
// the lease TTL, then deletes the other blobs older than the grace period,
// checking each one's lease again right before deleting it. A record whose
// manifest is missing or unreadable stops GC with an error rather than risk
// freeing what it needs. Expired leases are deleted.
//
// On a store shared by several servers this is what keeps a concurrent push
// safe: a blob written by the push is younger than the grace period; a blob
// the push found already stored is leased (touch) before the push relies
// on it, and every version record is written after its blobs are linked
// (which leases them too). What remains is the moment between GC's last
// lease check of a blob and its delete (one store round trip): a lease
// taken exactly then is not seen; the push's manifest check that follows
// the lease then finds the blob missing and fails, and a re-run pushes it.
func (r *Registry) GC(ctx context.Context, opts ...GCOption) (GCStats, error) {
	o := gcOptions{grace: DefaultGracePeriod}
	for _, opt := range opts {
		opt(&o)
	}
	if !o.leaseSet {
		o.lease = o.grace
	}
	cutoff := time.Now().Add(-o.grace)
	leaseCutoff := time.Now().Add(-o.lease)
	leased := func(info store.Info) bool { return info.ModTime.After(leaseCutoff) }

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

	var expiredLeases []string
	err = r.s.List(ctx, leasesPrefix, func(info store.Info) error {
		alg, hex, _ := strings.Cut(strings.TrimPrefix(info.Key, leasesPrefix), "/")
		if leased(info) {
			marked[digest.NewDigestFromEncoded(digest.Algorithm(alg), hex)] = true
		} else {
			expiredLeases = append(expiredLeases, info.Key)
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
		alg, hex, _ := strings.Cut(strings.TrimPrefix(info.Key, "blobs/"), "/")
		keep, err := r.leasedNow(ctx, digest.NewDigestFromEncoded(digest.Algorithm(alg), hex), leased)
		if err != nil {
			return stats, fmt.Errorf("registry: gc: %w", err)
		}
		if keep {
			stats.BlobsKept++
			continue
		}
		if !o.dryRun {
			if err := r.s.Delete(ctx, info.Key); err != nil {
				return stats, fmt.Errorf("registry: gc: %w", err)
			}
		}
		stats.BlobsFreed++
		stats.BytesFreed += info.Size
	}
	if !o.dryRun {
		for _, k := range expiredLeases {
			if err := r.s.Delete(ctx, k); err != nil {
				return stats, fmt.Errorf("registry: gc: %w", err)
			}
		}
	}
	return stats, nil
}

// leasedNow reads blob d's lease again, right before GC deletes the blob.
func (r *Registry) leasedNow(ctx context.Context, d digest.Digest, leased func(store.Info) bool) (bool, error) {
	info, err := r.s.Stat(ctx, leaseKey(d))
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return leased(info), nil
}
