package artifact

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/internal/atomicfile"
)

// layerCache maps a group of files, by what lstat says of each (path,
// size, mode, modification time, inode), to the layer it packed to, so a
// rebuild of a folder packs only the groups whose files changed. A stale
// or missing entry only costs a repack: Build checks the layer is still
// stored before it reuses one, and an entry is written after its blob.
type layerCache struct {
	dir  string // "" disables the cache
	root string
}

func (c layerCache) key(paths []string) string {
	if c.dir == "" {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "artifact-layer-cache 2\n%s\n", c.root)
	for _, p := range paths {
		fi, err := os.Lstat(filepath.Join(c.root, filepath.FromSlash(p)))
		if err != nil {
			return ""
		}
		fmt.Fprintf(h, "%q %d %o %d %d\n", p, fi.Size(), fi.Mode(), fi.ModTime().UnixNano(), inode(fi))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (c layerCache) path(key string) string { return filepath.Join(c.dir, key[:2], key) }

func (c layerCache) get(key string) (bundle.LayerInfo, bool) {
	var info bundle.LayerInfo
	if key == "" {
		return info, false
	}
	b, err := os.ReadFile(c.path(key))
	if err != nil || json.Unmarshal(b, &info) != nil || info.Digest.Validate() != nil {
		return bundle.LayerInfo{}, false
	}
	return info, true
}

// put remembers a packed layer; a failure to write only loses the cache.
func (c layerCache) put(key string, info bundle.LayerInfo) {
	if key == "" {
		return
	}
	b, err := json.Marshal(info)
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(c.path(key)), 0o755) == nil {
		_ = atomicfile.Write(c.path(key), b, 0o644)
	}
}

// CacheDir is where builds into the local instance at storage root root
// keep their layer cache.
func CacheDir(root string) string { return filepath.Join(root, "cache", "artifact-layers") }
