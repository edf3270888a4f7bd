package workflow

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/layercache"
	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/internal/treecache"
)

// The host's side of the caches that make restore and create cost a link:
// env layers go through core/layercache under the storage root, and modes
// get a cache folder there (the venv mode keeps its pip seeds in it).

// ModeCacheDir is the folder modes keep their caches in.
func (s *Service) ModeCacheDir() string {
	if s.StorageRoot == "" {
		return ""
	}
	return filepath.Join(s.StorageRoot, "cache", "modes")
}

// withCaches gives env the host's cache folder and link mode.
func (s *Service) withCaches(env mode.Env) mode.Env {
	env.CacheDir = s.ModeCacheDir()
	env.LinkMode = string(s.LinkMode)
	return env
}

func (s *Service) unpackedLayers() *layercache.Cache {
	if s.StorageRoot == "" {
		return nil
	}
	return layercache.New(s.StorageRoot, s.LinkMode, func(f string, a ...any) { s.log().Debug(fmt.Sprintf(f, a...)) })
}

// placeLayer puts env layer d into prefix from the layer cache (unpacking
// it there first when needed); own are the files relocation rewrites, which
// prefix gets its own copies of. It returns the Python distributions the
// layer holds, known=false when there is no layer cache to tell.
func (s *Service) placeLayer(ctx context.Context, lc *layercache.Cache, src *source, d ocispec.Descriptor, prefix string, own map[string]bool) (dists []layercache.Dist, known bool, err error) {
	if lc == nil {
		return nil, false, src.extract(ctx, d, prefix)
	}
	placed, err := lc.Place(ctx, d.Digest, prefix, own, func(dir string) error {
		rc, err := src.open(ctx, d.Digest)
		if err != nil {
			return err
		}
		defer rc.Close()
		return fillLayer(ctx, rc, dir, extractOptions(d))
	})
	if placed.Unpacked {
		s.log().Debug("layer unpacked into the layer cache", "digest", d.Digest, "package", d.Annotations[bundle.AnnotationPackage], "size", d.Size)
	}
	return placed.Dists, err == nil, err
}

// fillLayer is a layer cache fill: it extracts the layer read from r into
// dir, the entry being filled, and hands the tree cache the XXH64 of each
// file as the extraction wrote it (treecache.WriteSums), so the entry's
// seal does not read the files back.
func fillLayer(ctx context.Context, r io.Reader, dir string, o bundle.ExtractOptions) error {
	var mu sync.Mutex
	sums := map[string]treecache.Sum{}
	o.ReadOnly = true // as the entry's seal leaves them
	o.Sums = func(name string, f bundle.FileSum) {
		mu.Lock()
		sums[name] = treecache.Sum(f)
		mu.Unlock()
	}
	if _, err := bundle.ExtractLayer(ctx, r, dir, o); err != nil {
		return err
	}
	return treecache.WriteSums(dir, sums)
}

// relocatedFiles are the paths of a manifest's relocation lists.
func relocatedFiles(rm *Manifest) map[string]bool {
	own := map[string]bool{}
	if r := rm.Relocation; r != nil {
		for _, p := range append(append([]string(nil), r.TextFiles...), r.BinaryFiles...) {
			own[filepath.ToSlash(p)] = true
		}
	}
	return own
}

// LayerCacheStats says what gc freed from the layer cache (or would) and
// what stays.
type LayerCacheStats struct {
	Freed layercache.Stats `json:"freed"`
	Kept  layercache.Stats `json:"kept"`
}

// gcLayerCache removes the cached layers no stored version (live or in
// the trash, which can be recovered) uses.
func (s *Service) gcLayerCache(ctx context.Context, l *instance.Local, dryRun bool) (LayerCacheStats, error) {
	lc := s.unpackedLayers()
	if lc == nil {
		return LayerCacheStats{}, nil
	}
	projects, err := storeProjects(ctx, l.Store())
	if err != nil {
		return LayerCacheStats{}, err
	}
	live := map[digest.Digest]bool{}
	for _, p := range projects {
		rts, err := l.ListRuntimes(ctx, p, true)
		if err != nil {
			return LayerCacheStats{}, err
		}
		for _, rt := range rts {
			vs, err := l.ListVersions(ctx, p, rt.Name, true)
			if err != nil {
				return LayerCacheStats{}, err
			}
			for _, v := range vs {
				b, err := LoadBundle(ctx, l, v)
				if err != nil && v.Removed {
					continue // in the trash and no longer readable: not restorable either
				}
				if err != nil {
					return LayerCacheStats{}, fmt.Errorf("gc: layers of %s: %w", v.Short, err)
				}
				for _, role := range []string{bundle.RoleBase, bundle.RolePackage} {
					for _, l := range b.Layers(role) {
						live[l.Digest] = true
					}
				}
			}
		}
	}
	freed, kept, err := lc.GC(ctx, live, dryRun)
	return LayerCacheStats{Freed: freed, Kept: kept}, err
}

// gcModeCaches removes, from every tree cache the modes keep under
// ModeCacheDir (the venv mode's pip seeds, venv skeletons, interpreter
// probes), the entries made from a file that no longer exists (an
// interpreter removed or upgraded away), and says what they held.
func (s *Service) gcModeCaches(ctx context.Context, dryRun bool) (layercache.Stats, error) {
	var freed layercache.Stats
	dir := s.ModeCacheDir()
	if dir == "" {
		return freed, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return freed, nil
		}
		return freed, err
	}
	for _, e := range ents {
		root := filepath.Join(dir, e.Name())
		if st, err := os.Stat(filepath.Join(root, "entries")); err != nil || !st.IsDir() {
			continue // not a tree cache
		}
		gone, err := (&treecache.Cache{Root: root}).Prune(ctx, dryRun)
		for _, g := range gone {
			freed.Entries++
			freed.Bytes += g.Size
			s.log().Debug("mode cache entry of a missing file", "cache", root, "key", g.Key, "missing", g.Missing, "size", g.Size)
		}
		if err != nil {
			return freed, err
		}
	}
	return freed, nil
}
