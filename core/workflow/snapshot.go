package workflow

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/spec"
	"github.com/swcli/swcli/internal/atomicfile"
)

// writeLockFiles writes the mode's lock files under WORKDIR/.starwhale/lock
// and returns their names, sorted. Unchanged lock files are left alone, so
// the snapshot layer's cache entry still holds.
func writeLockFiles(wd, modeName string, lock mode.Lock) ([]string, error) {
	lockDir := LockDirOf(wd)
	var names []string
	for _, lf := range lock.Files {
		if !mode.ValidLockFileName(lf.Name) {
			return nil, fmt.Errorf("mode %s returned a lock file with a bad name %q", modeName, lf.Name)
		}
		lp := filepath.Join(lockDir, lf.Name)
		if old, err := os.ReadFile(lp); err != nil || !bytes.Equal(old, lf.Content) {
			if err := atomicfile.Write(lp, lf.Content, 0o644); err != nil {
				return nil, err
			}
		}
		names = append(names, lf.Name)
	}
	sort.Strings(names)
	return names, nil
}

// snapshotFiles lists the snapshot layer: runtime.yaml, the files it names,
// and the lock files.
func snapshotFiles(wd, relSpec string, rs *spec.Spec, lockFiles, extra []string) ([]string, error) {
	set := map[string]bool{relSpec: true}
	for _, f := range append(rs.Files(), extra...) {
		files, err := walkRel(wd, f)
		if err != nil {
			return nil, err
		}
		for _, x := range files {
			if strings.HasPrefix(x, DotDir+"/") {
				continue // never the environment itself
			}
			set[x] = true
		}
	}
	for _, lf := range lockFiles {
		set[DotDir+"/lock/"+lf] = true
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out, nil
}

// localSources lists the workdir files the lock installs from (local wheels
// named in requirement files), so a restore from the lock works offline.
func localSources(wd string, pkgs []mode.LockedPackage) []string {
	var out []string
	for _, p := range pkgs {
		src := p.Source
		if src == "" || strings.Contains(src, "://") || strings.HasPrefix(src, "/") || strings.Contains(src, "+") {
			continue
		}
		clean := filepath.ToSlash(filepath.Clean(src))
		if strings.HasPrefix(clean, "../") || clean == ".." {
			continue
		}
		if st, err := os.Stat(filepath.Join(wd, filepath.FromSlash(clean))); err == nil && st.Mode().IsRegular() {
			out = append(out, clean)
		}
	}
	return out
}
