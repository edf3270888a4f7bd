package venvmode

// checkmemo.go: the pip check memo. `python -m pip check` imports most of
// pip (about a second of CPU, more than packing a small environment), and
// its answer depends only on the interpreter and on the distribution
// metadata Python finds on the environment's path. After a clean check the
// mode writes a stamp of those (checkStamp) into the folder the host keeps
// with the environment (mode.Env.StateDir); a later check of an environment
// whose stamp is the same is skipped. Install, Create's install and every
// Lock with Check that ran pip check write it; anything pip or the user
// changes in a dist-info, egg-info, .pth or .egg-link (or the interpreter)
// changes the stamp, so the next check runs pip again.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/swcli/swcli/internal/atomicfile"
)

// checkMemoFile is the memo's name in mode.Env.StateDir.
const checkMemoFile = "pip-check.json"

// stampFormat changes whenever what checkStamp hashes changes.
const stampFormat = "swcli-venv-pip-check-1"

// checkMemo is what the memo file holds: the stamp of the last environment
// pip check found consistent.
type checkMemo struct {
	Stamp string `json:"stamp"`
}

// checkedBefore says whether the memo in stateDir vouches for the
// environment whose stamp is stamp.
func checkedBefore(stateDir, stamp string) bool {
	if stateDir == "" || stamp == "" {
		return false
	}
	data, err := os.ReadFile(filepath.Join(stateDir, checkMemoFile))
	if err != nil {
		return false
	}
	var m checkMemo
	return json.Unmarshal(data, &m) == nil && m.Stamp == stamp
}

// rememberCheck records stamp as checked in stateDir (stamp "" forgets).
// The memo is only a hint: failing to write it costs the next check.
func rememberCheck(stateDir, stamp string) {
	if stateDir == "" {
		return
	}
	p := filepath.Join(stateDir, checkMemoFile)
	if stamp == "" {
		_ = os.Remove(p)
		return
	}
	data, _ := json.Marshal(checkMemo{Stamp: stamp})
	if err := os.MkdirAll(stateDir, 0o755); err == nil {
		_ = atomicfile.WriteVolatile(p, data, 0o644)
	}
}

// checkStamp hashes what `pip check` in the environment at prefix reads:
// the interpreter (bin/python and the file it resolves to: path, size,
// mtime, inode), pyvenv.cfg, and in every site-packages folder the name,
// size, mtime and inode of each file of each *.dist-info, *.egg-info and
// *.egg, the content of each *.pth and *.egg-link, and the metadata folders
// in the folders .pth files add to the path. It gives "" when the
// environment's path holds what it does not cover: the base interpreter's
// packages (include-system-site-packages), PYTHONPATH, or a .pth line that
// changes sys.path by code.
func checkStamp(prefix string) string {
	if os.Getenv("PYTHONPATH") != "" {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\n", stampFormat, prefix)
	py := filepath.Join(prefix, "bin", "python")
	real, err := filepath.EvalSymlinks(py)
	if err != nil || !stampFile(h, py) || !stampFile(h, real) {
		return ""
	}
	cfg, err := os.ReadFile(filepath.Join(prefix, "pyvenv.cfg"))
	if err != nil || systemSite(cfg) {
		return ""
	}
	fmt.Fprintf(h, "pyvenv.cfg\x00%x\n", sha256.Sum256(cfg))
	sites, _ := filepath.Glob(filepath.Join(prefix, "lib", "python*", "site-packages"))
	if len(sites) == 0 {
		return ""
	}
	sort.Strings(sites)
	for _, site := range sites {
		if !stampSite(h, site) {
			return ""
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// systemSite says whether pyvenv.cfg puts the base interpreter's
// site-packages on the path.
func systemSite(cfg []byte) bool {
	for _, line := range strings.Split(string(cfg), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == "include-system-site-packages" {
			return strings.EqualFold(strings.TrimSpace(v), "true")
		}
	}
	return false
}

// stampSite adds one site-packages folder to h (see checkStamp).
func stampSite(h hash.Hash, site string) bool {
	fmt.Fprintf(h, "site\x00%s\n", site)
	ents, err := os.ReadDir(site)
	if err != nil {
		return false
	}
	for _, e := range ents {
		p := filepath.Join(site, e.Name())
		switch ext := filepath.Ext(e.Name()); ext {
		case ".dist-info", ".egg-info", ".egg":
			if !stampTree(h, p) {
				return false
			}
		case ".egg-link", ".pth":
			data, err := os.ReadFile(p)
			if err != nil {
				return false
			}
			fmt.Fprintf(h, "%s\x00%x\n", p, sha256.Sum256(data))
			if ext == ".pth" && !stampPth(h, site, data) {
				return false
			}
		}
	}
	return true
}

// stampPth adds the metadata in the folders a .pth file puts on the path.
func stampPth(h hash.Hash, site string, data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "import ") || strings.HasPrefix(line, "import\t"):
			// Code: fine as long as it does not touch the path (the
			// editable finders and _distutils_hack do not).
			if strings.Contains(line, "sys.path") {
				return false
			}
			continue
		}
		dir := line
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(site, dir)
		}
		if filepath.Clean(dir) == filepath.Clean(site) {
			continue
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			fmt.Fprintf(h, "pth-dir\x00%s\x00missing\n", dir) // Python skips it too
			continue
		}
		fmt.Fprintf(h, "pth-dir\x00%s\n", dir)
		for _, e := range ents {
			switch filepath.Ext(e.Name()) {
			case ".dist-info", ".egg-info", ".egg":
				if !stampTree(h, filepath.Join(dir, e.Name())) {
					return false
				}
			}
		}
	}
	return true
}

// stampTree adds p and, for a folder, every entry under it.
func stampTree(h hash.Hash, p string) bool {
	ok := true
	err := filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			ok = false
			return err
		}
		if d.IsDir() && d.Name() == "__pycache__" {
			return filepath.SkipDir
		}
		if !stampFile(h, q) {
			ok = false
			return filepath.SkipAll
		}
		return nil
	})
	return ok && err == nil
}

// stampFile adds the path, type, size, mtime and inode of p (not followed).
func stampFile(h hash.Hash, p string) bool {
	st, err := os.Lstat(p)
	if err != nil {
		return false
	}
	var ino uint64
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		ino = sys.Ino
	}
	size := st.Size()
	if st.IsDir() {
		size = 0 // a folder's size follows its entries, which are listed
	}
	fmt.Fprintf(h, "%s\x00%o\x00%d\x00%d\x00%d\n", p, st.Mode(), size, st.ModTime().UnixNano(), ino)
	return true
}
