// Package layercache is the unpacked-layer cache under the storage root
// (ROOT/cache/layers): an env layer of a bundle, keyed by its digest, is
// unpacked once, and every restore that needs it again links its files
// into the new environment (internal/linkfile: clone, hardlink, copy)
// instead of unpacking it. venv and conda restores both come through here.
//
// It owns which layer files are linked and which each environment gets its
// own copy of: every file relocation or a tool may rewrite (the bundle's
// relocation lists, console scripts and activate scripts under bin/,
// dist-info RECORD/INSTALLER/direct_url.json, pyvenv.cfg, .pth files) is
// copied, never linked, so no environment can change another's files or
// the cache. Filling, checking (a damaged entry is unpacked again, never
// linked), locking and atomicity are internal/treecache's.
//
// It does not read bundles or stores: the caller passes a fill function
// that unpacks the layer, and the set of digests still in use for GC.
package layercache

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/swcli/swcli/internal/linkfile"
	"github.com/swcli/swcli/internal/treecache"
)

// Dir is the cache's folder under a storage root.
func Dir(storageRoot string) string { return filepath.Join(storageRoot, "cache", "layers") }

// Cache is the layer cache of one storage root.
type Cache struct {
	tc     *treecache.Cache
	linker *linkfile.Linker
}

// New opens the cache under storageRoot, placing files in link mode lm;
// debugf (may be nil) hears once about a link-mode fallback and about
// damaged entries.
func New(storageRoot string, lm linkfile.Mode, debugf func(format string, args ...any)) *Cache {
	return &Cache{
		tc:     &treecache.Cache{Root: Dir(storageRoot), Logf: debugf},
		linker: &linkfile.Linker{Mode: lm, Logf: debugf},
	}
}

// Place puts the files of layer d into prefix: from the cache entry of d,
// filled first by fill (which unpacks the layer into the empty folder it is
// given) when there is none or it is damaged. own names, by path relative
// to prefix, more files the environment must get its own copy of (the
// bundle's relocation lists); Owned's rules apply besides. It reports
// whether it had to unpack, and the Python distributions the layer holds
// (Dists).
func (c *Cache) Place(ctx context.Context, d digest.Digest, prefix string, own map[string]bool, fill func(dir string) error) (placed Placed, err error) {
	if err := d.Validate(); err != nil {
		return placed, fmt.Errorf("layer cache: %w", err)
	}
	m, filled, err := c.tc.Place(ctx, treecache.Key(string(d)), fill, prefix, treecache.Placement{
		Linker: c.linker,
		Own:    func(p string) bool { return own[p] || Owned(p) },
	})
	if err != nil {
		return Placed{Unpacked: filled}, fmt.Errorf("layer %s: %w", d, err)
	}
	return Placed{Unpacked: filled, Dists: Dists(m)}, nil
}

// Placed says what Place did.
type Placed struct {
	Unpacked bool   // the layer was unpacked into the cache first
	Dists    []Dist // the distributions it holds
}

// Dist is a Python distribution a layer holds: a NAME-VERSION.dist-info
// folder right under a site-packages folder, its parts unescaped as far as
// the folder name tells them (the wheel spec's _ for - in the name).
type Dist struct {
	Name, Version string
}

// Dists lists the distributions of an entry's manifest (see Dist). A
// folder name that does not split into a name and a version is left out,
// so a caller comparing the list with a lock sees a difference, never a
// false match.
func Dists(m treecache.Manifest) []Dist {
	var out []Dist
	for _, it := range m.Items {
		if !it.Mode.IsDir() {
			continue
		}
		dir, base := path.Split(it.Path)
		stem, ok := strings.CutSuffix(base, ".dist-info")
		if !ok || path.Base(dir) != "site-packages" {
			continue
		}
		name, version, ok := strings.Cut(stem, "-")
		if !ok || name == "" || version == "" || strings.Contains(version, "-") {
			continue
		}
		out = append(out, Dist{Name: name, Version: version})
	}
	return out
}

// Fill makes sure layer d has a complete entry, unpacking it with fill when
// there is none (or it is damaged), without placing it anywhere: a pull
// fills the entries of layers as they arrive, and the restore after it
// only links (Place). It reports whether it had to unpack.
func (c *Cache) Fill(ctx context.Context, d digest.Digest, fill func(dir string) error) (unpacked bool, err error) {
	if err := d.Validate(); err != nil {
		return false, fmt.Errorf("layer cache: %w", err)
	}
	err = c.tc.Use(ctx, treecache.Key(string(d)), fill, func(_ string, _ treecache.Manifest, filled bool) error {
		unpacked = filled
		return nil
	})
	if err != nil {
		return unpacked, fmt.Errorf("layer %s: %w", d, err)
	}
	return unpacked, nil
}

// Owned tells, by its slash path in an environment, a file that
// relocation or an installer rewrites in place of the environment's, so it
// is copied, never linked.
func Owned(p string) bool {
	dir, base := path.Split(p)
	switch {
	case strings.HasPrefix(p, "bin/") || strings.HasPrefix(p, "Scripts/"):
		return true // console scripts (shebangs), activate scripts
	case base == "pyvenv.cfg" || strings.HasSuffix(base, ".pth"):
		return true
	case strings.HasSuffix(strings.TrimSuffix(dir, "/"), ".dist-info") || strings.HasSuffix(strings.TrimSuffix(dir, "/"), ".egg-info"):
		return base == "RECORD" || base == "INSTALLER" || base == "direct_url.json" || base == "REQUESTED"
	case strings.HasPrefix(p, "conda-meta/"):
		return true
	}
	return false
}

// Stats is the cache's size.
type Stats struct {
	Entries int   `json:"entries"`
	Bytes   int64 `json:"bytes"`
}

// Stats counts the complete entries and their bytes.
func (c *Cache) Stats() (Stats, error) {
	ents, err := c.tc.Entries()
	if err != nil {
		return Stats{}, err
	}
	var s Stats
	for _, e := range ents {
		s.Entries++
		s.Bytes += e.Size
	}
	return s, nil
}

// GC removes the entries of layers not in live (nothing when dryRun) and
// says what it removed (or would) and what stays.
func (c *Cache) GC(ctx context.Context, live map[digest.Digest]bool, dryRun bool) (freed, kept Stats, err error) {
	keep := map[string]bool{}
	for d := range live {
		keep[treecache.Key(string(d))] = true
	}
	ents, err := c.tc.Entries()
	if err != nil {
		return freed, kept, err
	}
	for _, e := range ents {
		if keep[e.Key] {
			kept.Entries++
			kept.Bytes += e.Size
			continue
		}
		if !dryRun {
			if err := c.tc.Remove(ctx, e.Key); err != nil {
				return freed, kept, err
			}
		}
		freed.Entries++
		freed.Bytes += e.Size
	}
	return freed, kept, nil
}
