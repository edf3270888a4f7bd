package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	digest "github.com/opencontainers/go-digest"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/envpack"
	"github.com/swcli/swcli/internal/atomicfile"
)

// cachingPacker is the layer cache around a packer: a job whose files did
// not change since the last build (same layerKey) and whose blob is still
// stored is reused as it is; only the others are packed. Layers committed
// are remembered for the next build.
type cachingPacker struct {
	next       packer
	cache      *layerCache
	has        func(ctx context.Context, d digest.Digest) bool
	prefix, wd string
}

func (c *cachingPacker) prepare(ctx context.Context, jobs []layerJob) (*packed, error) {
	keys := make([]string, len(jobs))
	entries := make([]cacheEntry, len(jobs))
	var todo []int
	var sub []layerJob
	reused := 0
	for i, j := range jobs {
		k, err := layerKey(j, c.prefix, c.wd)
		if err != nil {
			return nil, err
		}
		keys[i] = k
		if e, ok := c.cache.get(k); ok && c.has(ctx, e.Digest) {
			entries[i] = e
			reused++
			continue
		}
		todo = append(todo, i)
		sub = append(sub, j)
	}
	inner, err := c.next.prepare(ctx, sub)
	if err != nil {
		return nil, err
	}
	// The inner result speaks of sub; map it back onto jobs.
	p := &packed{jobs: jobs, entries: entries, todo: todo, res: inner.res,
		scrubbers: make([]*envpack.Scrubber, len(jobs)), reused: reused, prefix: inner.prefix}
	for n, i := range todo {
		p.scrubbers[i] = inner.scrubbers[n]
	}
	p.stored = func(i int, e cacheEntry) { c.cache.put(keys[i], e) }
	return p, nil
}

// layerFormat changes when packing changes in a way the cache must not
// survive.
// 4: paths scrubbed wherever they start; conda-meta normalized. The
// compression (bundle.LayerFormat) is part of it.
const layerFormat = "swcli-layer-4/" + bundle.LayerFormat

// layerKey identifies a layer's input on this machine: the files' paths,
// sizes, modification times, modes and inodes (of the file read: an
// external file's source), and the paths scrubbed.
func layerKey(j layerJob, prefix, wd string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%v\x00%s\x00%s\n", layerFormat, j.role, j.pkg, j.root, j.scrub, prefix, wd)
	for _, f := range j.files {
		full := filepath.Join(j.root, filepath.FromSlash(f))
		if src := j.sources[f]; src != "" {
			full = src
			fmt.Fprintf(h, "external\x00%s\x00%s\n", f, src)
		}
		st := j.stat(f)
		if st == nil {
			var err error
			if st, err = os.Lstat(full); err != nil {
				return "", err
			}
		}
		var ino uint64
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			ino = sys.Ino
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00%o\x00%d\n", f, st.Size(), st.ModTime().UnixNano(), st.Mode(), ino)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type cacheEntry struct {
	Digest       digest.Digest `json:"digest"`
	Size         int64         `json:"size"`
	Uncompressed int64         `json:"uncompressed"`
	Files        int           `json:"files"`
	Text         []string      `json:"text,omitempty"`
	Binary       []string      `json:"binary,omitempty"`
}

// layerCache remembers packed layers by layerKey, in
// WORKDIR/.starwhale/cache/layers.json. It is only a hint: a layer is reused
// only when its blob is still in the store.
type layerCache struct {
	path    string
	entries map[string]cacheEntry
	used    map[string]bool
	dirty   bool
	mu      sync.Mutex
}

func loadLayerCache(wd string, skip bool) *layerCache {
	c := &layerCache{path: filepath.Join(wd, DotDir, "cache", "layers.json"), entries: map[string]cacheEntry{}, used: map[string]bool{}}
	if skip {
		return c
	}
	data, err := os.ReadFile(c.path)
	if err == nil {
		_ = json.Unmarshal(data, &c.entries)
	}
	return c
}

func (c *layerCache) get(k string) (cacheEntry, bool) {
	c.mu.Lock() // the base layer and the package layers are prepared at once
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if ok {
		c.used[k] = true
	}
	return e, ok && e.Digest != ""
}

func (c *layerCache) put(k string, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[k], c.used[k], c.dirty = e, true, true
}

// save keeps the entries this build used (so the file does not grow forever).
func (c *layerCache) save() {
	keep := map[string]cacheEntry{}
	for k := range c.used {
		keep[k] = c.entries[k]
	}
	if !c.dirty && len(keep) == len(c.entries) {
		return
	}
	data, err := json.Marshal(keep)
	if err == nil {
		_ = atomicfile.Write(c.path, data, 0o644)
	}
}
