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

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/pyenv"
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
// pyenv.ReadSite's dists, with their direct_url.json. It says false, and
// the script runs, when the prefix is not a venv laid out as venvLayout
// knows, when ReadSite cannot be sure (egg-info, .pth files, duplicate
// names...), when a direct_url.json cannot be read; and for Python before
// 3.8, where the script reads distributions with pkg_resources (versions
// from folder names).
func readDists(ctx context.Context, env mode.Env, prefix string) (*envInfo, bool) {
	if _, err := os.Lstat(filepath.Join(prefix, "pyvenv.cfg")); err != nil {
		return nil, false // not a venv: the base interpreter's path counts too
	}
	info, ok := venvLayout(ctx, env, prefix)
	if !ok || !hasImportlibMetadata(info.Python) {
		return nil, false
	}
	dists, ok := pyenv.ReadSite(info.SiteDirs[0])
	if !ok {
		return nil, false
	}
	info.BasePrefix = "" // not known without Python; Lock does not use it
	info.Dists = make([]distInfo, 0, len(dists))
	for _, pd := range dists {
		d := distInfo{Name: pd.Name, Version: pd.Version, Location: pd.Dir}
		if data, err := os.ReadFile(filepath.Join(pd.Dir, "direct_url.json")); err == nil {
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
