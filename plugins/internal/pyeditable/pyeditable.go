// Package pyeditable finds what an editable (development) install of a Python
// distribution points at, so that a mode can report it as regular files
// (mode.FilesRequest.IncludeEditable): the files of its source tree that a
// normal install would have put into site-packages (mode.ExternalFile), and
// the files of the environment that only point at the source tree (to drop).
//
// It understands the editable installs pip makes today and made before:
//
//   - PEP 660 wheels whose .pth file lists folders to add to sys.path
//     (setuptools' "compat" mode and flat src layouts, hatchling, flit,
//     pdm-backend, any backend that writes a path .pth);
//   - PEP 660 wheels whose .pth imports a finder module: setuptools'
//     __editable___NAME_VERSION_finder.py (MAPPING = {'pkg': '/abs/pkg'})
//     and the editables library (F.map_module('pkg', '/abs/pkg/__init__.py'));
//   - legacy `setup.py develop` installs: NAME.egg-link (and a line of
//     easy-install.pth) pointing at the project folder, with the metadata in
//     the project's NAME.egg-info folder, which is packed into site-packages.
//
// For a folder put on sys.path, the distribution's top-level names come from
// its top_level.txt when it has one; otherwise they are the packages (folders
// with __init__.py) and modules (*.py) of the folder, minus setup.py,
// conftest.py and an in-tree build backend (pyproject.toml's backend-path).
// Namespace packages without top_level.txt are not found that way.
package pyeditable

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/swcli/swcli/core/mode"
)

// Dist is one editable distribution of the environment at a prefix.
type Dist struct {
	Name, Version string
	// SiteRel is the site-packages folder (prefix-relative, slash-separated)
	// that holds the distribution's files: where its packages go.
	SiteRel string
	// DistInfo is the prefix-relative *.dist-info folder of a PEP 660
	// install; empty for a legacy one.
	DistInfo string
	// Files are the prefix-relative files of the distribution (its RECORD).
	Files []string
	// EggInfo is the absolute *.egg-info folder of a legacy install, in the
	// project folder.
	EggInfo string
	// EggLink is the prefix-relative NAME.egg-link of a legacy install, if any.
	EggLink string
}

// Result is what an editable distribution is made of.
type Result struct {
	// External are the files to pack, sorted by Dest.
	External []mode.ExternalFile
	// Drop are the prefix-relative files that point at the source tree.
	Drop []string
	// Roots are the folders the install put on sys.path (cleaned, absolute).
	Roots []string
}

// Target is one module or package a finder maps to a path.
type Target struct{ Name, Path string }

// Resolve finds the files of the editable distribution d of the environment
// at prefix. It fails, naming the distribution, when its source is gone or
// when it cannot tell which files the install points at.
func Resolve(prefix string, d Dist) (*Result, error) {
	prefix = filepath.Clean(prefix)
	site := filepath.Join(prefix, filepath.FromSlash(d.SiteRel))
	files := map[string]bool{}
	for _, f := range d.Files {
		files[f] = true
	}
	res := &Result{}
	drop := map[string]bool{}
	var roots []string
	var targets []Target
	addRoot := func(p string) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(site, p)
		}
		p = filepath.Clean(p)
		if under(prefix, p) {
			return // not a link to a source tree
		}
		for _, r := range roots {
			if r == p {
				return
			}
		}
		roots = append(roots, p)
	}
	parseFinder := func(rel string) (bool, error) {
		data, err := os.ReadFile(filepath.Join(prefix, filepath.FromSlash(rel)))
		if err != nil {
			return false, err
		}
		ts, err := ParseFinder(string(data))
		if err != nil {
			return false, fmt.Errorf("%s: %v", rel, err)
		}
		targets = append(targets, ts...)
		return len(ts) > 0, nil
	}

	if d.EggLink != "" {
		drop[d.EggLink] = true
		if line := firstLine(filepath.Join(prefix, filepath.FromSlash(d.EggLink))); line != "" {
			addRoot(line)
		}
	}
	if d.EggInfo != "" && len(roots) == 0 {
		// setuptools writes NAME.egg-info into the folder it puts on sys.path.
		addRoot(filepath.Dir(d.EggInfo))
	}
	finders := map[string]bool{}
	for _, f := range d.Files {
		if path.Dir(f) != d.SiteRel {
			continue
		}
		base := path.Base(f)
		switch {
		case strings.HasSuffix(base, ".pth"):
			lines, err := readLines(filepath.Join(prefix, filepath.FromSlash(f)))
			if err != nil {
				return nil, d.errorf("reading %s: %v", f, err)
			}
			pointer := false
			for _, l := range lines {
				if mods, ok := pthImports(l); ok {
					for _, m := range mods {
						rel := d.SiteRel + "/" + m + ".py"
						if finders[rel] {
							continue
						}
						if _, err := os.Lstat(filepath.Join(site, m+".py")); !files[rel] && err != nil {
							continue // not a module of the site folder
						}
						finders[rel] = true
						ok, err := parseFinder(rel)
						if err != nil {
							return nil, d.errorf("%v", err)
						}
						if ok {
							drop[rel], pointer = true, true
						}
					}
					continue
				}
				n := len(roots)
				addRoot(l)
				pointer = pointer || len(roots) > n
			}
			if pointer {
				drop[f] = true
			}
		case strings.HasPrefix(base, "__editable__") && strings.HasSuffix(base, ".py") && !finders[f]:
			// A setuptools finder no .pth imports (yet): still a pointer.
			finders[f] = true
			if _, err := parseFinder(f); err != nil {
				return nil, d.errorf("%v", err)
			}
			drop[f] = true
		}
	}
	if d.DistInfo != "" {
		du := d.DistInfo + "/direct_url.json"
		if _, err := os.Lstat(filepath.Join(prefix, filepath.FromSlash(du))); err == nil {
			// It says "editable" and names the source tree: the packed
			// distribution is a regular one.
			drop[du] = true
		}
	}

	out := map[string]string{} // dest -> src
	var order []string
	add := func(src, dest string) {
		if _, ok := out[dest]; ok {
			return
		}
		out[dest] = src
		order = append(order, dest)
	}
	sitePkg := func(dotted string) string { return d.SiteRel + "/" + strings.ReplaceAll(dotted, ".", "/") }

	for _, t := range targets {
		st, err := os.Stat(t.Path)
		if err != nil {
			return nil, d.errorf("it points %s at %s, which does not exist (moved or removed?)", t.Name, t.Path)
		}
		dest := sitePkg(t.Name)
		switch {
		case st.IsDir():
			if err := walkInto(t.Path, dest, add); err != nil {
				return nil, d.errorf("%v", err)
			}
		case filepath.Base(t.Path) == "__init__.py":
			if err := walkInto(filepath.Dir(t.Path), dest, add); err != nil {
				return nil, d.errorf("%v", err)
			}
		default:
			add(t.Path, path.Dir(dest)+"/"+moduleFile(path.Base(dest), filepath.Base(t.Path)))
		}
	}

	if len(roots) > 0 {
		names := topLevel(d, prefix)
		for _, r := range roots {
			if st, err := os.Stat(r); err != nil || !st.IsDir() {
				return nil, d.errorf("it points at %s, which does not exist (moved or removed?)", r)
			}
			ns := names
			if ns == nil {
				var err error
				if ns, err = scanTopLevel(r); err != nil {
					return nil, d.errorf("%v", err)
				}
			}
			for _, n := range ns {
				if err := addTopLevel(r, n, d.SiteRel, add); err != nil {
					return nil, d.errorf("%v", err)
				}
			}
		}
	}
	if len(order) == 0 {
		return nil, d.errorf("found no files of it to pack (no finder mapping, and no package or module in %s)", strings.Join(orNone(roots), ", "))
	}
	if d.EggInfo != "" {
		if err := walkInto(d.EggInfo, d.SiteRel+"/"+filepath.Base(d.EggInfo), add); err != nil {
			return nil, d.errorf("%v", err)
		}
	}

	sort.Strings(order)
	for _, dest := range order {
		res.External = append(res.External, mode.ExternalFile{Src: out[dest], Dest: dest})
	}
	for f := range drop {
		res.Drop = append(res.Drop, f)
	}
	sort.Strings(res.Drop)
	res.Roots = roots
	return res, nil
}

func (d Dist) errorf(format string, args ...any) error {
	return mode.Errorf(mode.ErrInvalid, "%s %s is an editable install and --include-editable cannot pack it: %s", d.Name, d.Version, fmt.Sprintf(format, args...))
}

func orNone(s []string) []string {
	if len(s) == 0 {
		return []string{"no folder"}
	}
	return s
}

// under reports whether p is root or inside it.
func under(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// moduleFile names a module file for module name as the file base names it:
// "mod" and "/src/mod.py" give "mod.py"; an extension module keeps its
// suffix ("mod.cpython-311-x86_64-linux-gnu.so").
func moduleFile(name, base string) string {
	if i := strings.IndexByte(base, '.'); i >= 0 {
		return name + base[i:]
	}
	return name
}

// walkInto adds every file under dir (skipping __pycache__, hidden folders
// and *.pyc; files behind symlinks as the files they point at, folders
// behind symlinks not at all) at dest/<path under dir>.
func walkInto(dir, dest string, add func(src, dest string)) error {
	return filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		if e.IsDir() {
			if e.Name() == "__pycache__" || strings.HasPrefix(e.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(e.Name(), ".pyc") {
			return nil
		}
		src := p
		if e.Type()&fs.ModeSymlink != 0 {
			real, err := filepath.EvalSymlinks(p)
			if err != nil {
				return nil // a dangling link: nothing to pack
			}
			st, err := os.Stat(real)
			if err != nil || !st.Mode().IsRegular() {
				return nil
			}
			src = real
		} else if !e.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		add(src, dest+"/"+filepath.ToSlash(rel))
		return nil
	})
}

// topLevel reads top_level.txt of the distribution's metadata; nil when it
// has none.
func topLevel(d Dist, prefix string) []string {
	var p string
	switch {
	case d.DistInfo != "":
		p = filepath.Join(prefix, filepath.FromSlash(d.DistInfo), "top_level.txt")
	case d.EggInfo != "":
		p = filepath.Join(d.EggInfo, "top_level.txt")
	default:
		return nil
	}
	lines, err := readLines(p)
	if err != nil || len(lines) == 0 {
		return nil
	}
	var out []string
	for _, l := range lines {
		l = strings.Trim(strings.ReplaceAll(l, "\\", "/"), "/")
		if l != "" && !strings.Contains(l, "..") {
			out = append(out, l)
		}
	}
	return out
}

var (
	identRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	backendRE = regexp.MustCompile(`(?m)^\s*build-backend\s*=\s*["']([A-Za-z0-9_.]+)`)
	bpathRE   = regexp.MustCompile(`(?m)^\s*backend-path\s*=`)
)

// scanTopLevel lists the packages and modules of a folder put on sys.path.
func scanTopLevel(root string) ([]string, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	skip := map[string]bool{"setup": true, "conftest": true}
	if data, err := os.ReadFile(filepath.Join(root, "pyproject.toml")); err == nil && bpathRE.Match(data) {
		if m := backendRE.FindSubmatch(data); m != nil {
			first, _, _ := strings.Cut(string(m[1]), ".")
			skip[first] = true
		}
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() {
			if identRE.MatchString(n) && !skip[n] {
				if st, err := os.Stat(filepath.Join(root, n, "__init__.py")); err == nil && st.Mode().IsRegular() {
					out = append(out, n)
				}
			}
			continue
		}
		if stem, ok := strings.CutSuffix(n, ".py"); ok && identRE.MatchString(stem) && !skip[stem] {
			out = append(out, stem)
		}
	}
	sort.Strings(out)
	return out, nil
}

// addTopLevel adds the package folder or module files of top-level name
// (slash-separated for a nested one) found in root; none is not an error
// (top_level.txt may name what another root holds).
func addTopLevel(root, name, siteRel string, add func(src, dest string)) error {
	full := filepath.Join(root, filepath.FromSlash(name))
	if st, err := os.Stat(full); err == nil && st.IsDir() {
		return walkInto(full, siteRel+"/"+name, add)
	}
	dir, base := filepath.Split(full)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	destDir := path.Dir(siteRel + "/" + name)
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, base+".") {
			continue
		}
		ext := n[len(base):]
		if !(ext == ".py" || ext == ".pyi" || strings.HasSuffix(ext, ".so") || strings.HasSuffix(ext, ".pyd")) {
			continue
		}
		src := filepath.Join(dir, n)
		real, err := filepath.EvalSymlinks(src)
		if err != nil {
			continue
		}
		if st, err := os.Stat(real); err != nil || !st.Mode().IsRegular() {
			continue
		}
		add(real, destDir+"/"+n)
	}
	return nil
}

// pthImports returns the modules an "import" line of a .pth file imports
// ("import a, b; a.install()" gives a and b).
func pthImports(line string) ([]string, bool) {
	if !strings.HasPrefix(line, "import ") && !strings.HasPrefix(line, "import\t") {
		return nil, false
	}
	stmt, _, _ := strings.Cut(line[len("import"):], ";")
	var out []string
	for _, m := range strings.Split(stmt, ",") {
		m = strings.TrimSpace(m)
		if name, _, ok := strings.Cut(m, " as "); ok {
			m = strings.TrimSpace(name)
		}
		if identRE.MatchString(m) {
			out = append(out, m)
		}
	}
	return out, true
}

// readLines reads the non-empty, non-comment lines of a file, trimmed.
func readLines(p string) ([]string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

func firstLine(p string) string {
	lines, err := readLines(p)
	if err != nil || len(lines) == 0 {
		return ""
	}
	return lines[0]
}

// PthRoots returns the folders a .pth file puts on sys.path (absolute,
// cleaned; relative lines are relative to the .pth's folder) and whether it
// has lines of anything else (imports).
func PthRoots(pth string) (roots []string, other bool, err error) {
	lines, err := readLines(pth)
	if err != nil {
		return nil, false, err
	}
	for _, l := range lines {
		if _, ok := pthImports(l); ok {
			other = true
			continue
		}
		if !filepath.IsAbs(l) {
			l = filepath.Join(filepath.Dir(pth), l)
		}
		roots = append(roots, filepath.Clean(l))
	}
	return roots, other, nil
}
