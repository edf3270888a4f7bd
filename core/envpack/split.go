package envpack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/swcli/swcli/core/mode"
)

// Split is Plan in two steps, so that packing can start before the prefix
// is walked: PlanPackages gives the package layers from the report alone
// (each file it lists looked at with Lstat, under the rules the walk
// applies), and Base the base layer once a Tree of the prefix is there. The
// layers are those Plan gives, as long as the prefix does not change in
// between (Base says so if a file of a package appeared).
type Split struct {
	p      *planner
	stats  map[string]fs.FileInfo
	packed map[string]bool
}

// PlanPackages plans the package layers of rep (as Plan orders them) and
// returns them with the Split that plans the base layer.
func PlanPackages(prefix string, rep mode.FilesReport) (*Split, []Layer, error) {
	p, err := newPlanner(prefix, rep)
	if err != nil {
		return nil, nil, err
	}
	s := &Split{p: p, stats: make(map[string]fs.FileInfo, len(p.owner)), packed: map[string]bool{}}
	dirs := map[string]bool{} // folder -> the walk enters it
	for f, i := range p.owner {
		if f == "." || f == ".." || strings.HasPrefix(f, "../") || path.IsAbs(f) || !s.entered(path.Dir(f), dirs) {
			continue // where the walk of the prefix never goes
		}
		fi, err := os.Lstat(filepath.Join(prefix, filepath.FromSlash(f)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		switch j, err := p.place(f, fs.FileInfoToDirEntry(fi)); {
		case err == filepath.SkipDir:
		case err != nil:
			return nil, nil, err
		case j == i:
			p.byPkg[i] = append(p.byPkg[i], f)
			s.stats[f], s.packed[f] = fi, true
		}
	}
	return s, p.packageLayers(), nil
}

// entered says whether a walk of the prefix lists what is in the folder
// dir: dir and every folder above it are folders (not symlinks) that are
// not excluded. Answers are kept in known.
func (s *Split) entered(dir string, known map[string]bool) bool {
	if dir == "." {
		return true
	}
	if ok, seen := known[dir]; seen {
		return ok
	}
	ok := s.entered(path.Dir(dir), known)
	if ok {
		fi, err := os.Lstat(filepath.Join(s.p.prefix, filepath.FromSlash(dir)))
		ok = err == nil && fi.IsDir() && !s.p.ex.dir(dir)
	}
	known[dir] = ok
	return ok
}

// Stat returns the Lstat PlanPackages made of a file of a package layer,
// or nil.
func (s *Split) Stat(rel string) fs.FileInfo { return s.stats[rel] }

// Base plans the base layer from a walk of the prefix: what no package
// layer holds and is not excluded. A file that a package owns but that was
// not there for PlanPackages is an error: the environment changed while it
// was planned.
func (s *Split) Base(t *Tree) (Layer, error) {
	var base []string
	err := t.walk(func(rel string, d fs.DirEntry) error {
		i, err := s.p.place(rel, d)
		switch {
		case err != nil || i == skipped:
			return err
		case i == inBase:
			base = append(base, rel)
		case !s.packed[rel]:
			return fmt.Errorf("envpack: %s: %s appeared while the environment was packed; build again", s.p.prefix, rel)
		}
		return nil
	})
	if err != nil {
		return Layer{}, err
	}
	return baseLayer(base), nil
}
