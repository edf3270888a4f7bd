package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/envpack"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/mode"
)

// memoFormat changes when what buildMemo holds, or how envFingerprint is
// computed, changes.
const memoFormat = "swcli-build-memo-1"

// buildMemo remembers what the mode said about the environment at the last
// build (the checked lock and the files report), with the fingerprint of
// the environment it said it about, in WORKDIR/.starwhale/cache/build.json.
// A rebuild of an environment whose fingerprint did not change reuses them
// instead of running pip check, the lock and the files listing again: they
// depend only on the files of the environment. Like the layer cache it is
// only a hint; any doubt (no file, another key) means asking the mode.
type buildMemo struct {
	Key   string            `json:"key"`
	Lock  mode.Lock         `json:"lock"`
	Files *mode.FilesReport `json:"files,omitempty"`
	// EnvLayers and Relocation are the env layers the last build packed from
	// this very environment: reused as they are when their blobs are still
	// stored (no editable installs: their files live outside the prefix).
	EnvLayers  []ocispec.Descriptor `json:"env_layers,omitempty"`
	Relocation *Relocation          `json:"relocation,omitempty"`
}

func memoPath(wd string) string { return filepath.Join(wd, DotDir, "cache", "build.json") }

// loadBuildMemo returns the memo of the workdir if its key is key.
func loadBuildMemo(wd, key string) *buildMemo {
	data, err := os.ReadFile(memoPath(wd))
	if err != nil {
		return nil
	}
	var m buildMemo
	if json.Unmarshal(data, &m) != nil || m.Key != key {
		return nil
	}
	return &m
}

func saveBuildMemo(wd string, m *buildMemo) {
	if data, err := json.Marshal(m); err == nil {
		_ = instance.WriteFileAtomic(memoPath(wd), data, 0o644)
	}
}

// envFingerprint hashes the path, type, size, modification time, mode and
// inode of every file and symlink of the walked prefix, and the path of every
// folder, leaving out __pycache__ folders (Python writes them when it runs;
// they are never packed). Installing, removing or changing anything changes
// it.
func envFingerprint(t *envpack.Tree, modeName string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\n", memoFormat, modeName, t.Prefix)
	for _, e := range t.Entries {
		if e.Skipped {
			continue
		}
		st := e.Info
		rel := ""
		if e.Rel != "" {
			rel = string(filepath.Separator) + filepath.FromSlash(e.Rel)
		}
		if st.IsDir() {
			// Its entries are listed; its times change when Python
			// writes a __pycache__ in it.
			fmt.Fprintf(h, "%s\x00%o\n", rel, st.Mode())
			continue
		}
		var ino uint64
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			ino = sys.Ino
		}
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00%d\x00%d\n", rel, st.Mode(), st.Size(), st.ModTime().UnixNano(), ino)
	}
	return hex.EncodeToString(h.Sum(nil))
}
