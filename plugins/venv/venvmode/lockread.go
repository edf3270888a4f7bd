package venvmode

// lockread.go: what Lock needs of an environment, read in Go when the
// environment is a plain venv, so that a build does not start Python (the
// inspect script imports importlib.metadata: a few tenths of a second of CPU,
// taken from the packing that runs beside the lock).

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/swcli/swcli/core/mode"
)

// inspectLock is inspect for Lock: readDists when it can answer, else the
// inspect script.
func (m *Mode) inspectLock(ctx context.Context, env mode.Env) (*envInfo, error) {
	prefix := filepath.Clean(env.Prefix)
	if info, ok := readDists(ctx, env, prefix); ok {
		return info, nil
	}
	return m.inspect(ctx, prefix)
}

// readDists gives what the inspect script prints for a venv whose one
// site-packages folder holds only what the script would read the same way:
// *.dist-info folders (with their METADATA Name and Version and
// direct_url.json), and no other source of distributions or of search path.
// It says false, and the script runs, when the prefix is not a venv laid
// out as venvLayout knows, when the folder holds *.egg-info, *.egg,
// *.egg-link or a .pth file (but setuptools' distutils-precedence.pth, which
// only imports), when two dist-info folders name the same distribution, or
// when anything cannot be read; and for Python before 3.8, where the
// script reads distributions with pkg_resources (versions from folder
// names).
func readDists(ctx context.Context, env mode.Env, prefix string) (*envInfo, bool) {
	if _, err := os.Lstat(filepath.Join(prefix, "pyvenv.cfg")); err != nil {
		return nil, false // not a venv: the base interpreter's path counts too
	}
	info, ok := venvLayout(ctx, env, prefix)
	if !ok || !hasImportlibMetadata(info.Python) {
		return nil, false
	}
	site := info.SiteDirs[0]
	ents, err := os.ReadDir(site)
	if err != nil {
		return nil, false
	}
	seen := map[string]bool{}
	info.BasePrefix = "" // not known without Python; Lock does not use it
	info.Dists = []distInfo{}
	for _, e := range ents {
		name := e.Name()
		low := strings.ToLower(name)
		switch {
		case low == "distutils-precedence.pth":
			continue
		case strings.HasSuffix(low, ".pth"), strings.HasSuffix(low, ".egg-link"),
			strings.HasSuffix(low, ".egg-info"), strings.HasSuffix(low, ".egg"):
			return nil, false
		case !strings.HasSuffix(low, ".dist-info"):
			if strings.Contains(low, ".dist-info") || strings.Contains(low, ".egg-info") {
				return nil, false // Python 3.8 and 3.9 match these names by a prefix
			}
			continue
		case !strings.HasSuffix(name, ".dist-info") || !e.IsDir():
			return nil, false
		}
		dir := filepath.Join(site, name)
		dname, version, err := readMetadata(filepath.Join(dir, "METADATA"))
		if err != nil && !os.IsNotExist(err) {
			return nil, false
		}
		if dname == "" {
			continue // importlib.metadata finds no name: the script skips it
		}
		cn := canonicalName(dname)
		if seen[cn] {
			return nil, false // which one wins is the script's to say
		}
		seen[cn] = true
		d := distInfo{Name: cn, Version: version, Location: dir}
		if data, err := os.ReadFile(filepath.Join(dir, "direct_url.json")); err == nil {
			var u directURL
			if json.Unmarshal(data, &u) == nil {
				d.DirectURL = &u
				d.Editable = u.DirInfo != nil && u.DirInfo.Editable
			}
		} else if !os.IsNotExist(err) {
			return nil, false
		}
		info.Dists = append(info.Dists, d)
	}
	sort.Slice(info.Dists, func(i, j int) bool { return info.Dists[i].Name < info.Dists[j].Name })
	return info, true
}

// hasImportlibMetadata says whether Python "X.Y.Z" has importlib.metadata
// (3.8 and later), which the inspect script then reads distributions with.
func hasImportlibMetadata(version string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(version, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 3 || major == 3 && minor >= 8
}
