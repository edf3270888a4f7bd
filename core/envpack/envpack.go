// Package envpack decides how an installed environment becomes env layers and
// what must be fixed when it is unpacked elsewhere: it groups every file under
// a prefix into one layer per installed distribution plus a base layer (from
// the mode's Files report), and scrubs the build machine's absolute paths
// from text files (replacing them with mode.PrefixPlaceholder and
// mode.WorkdirPlaceholder) while recording the binary files that still hold
// the old prefix. It knows nothing of tar, registries or plugins.
package envpack

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/swcli/swcli/core/mode"
)

// Layer roles.
const (
	RoleBase    = "base"
	RolePackage = "package"
)

// Layer is one planned env layer.
type Layer struct {
	Role string
	// Package is "name==version" for package layers.
	Package string
	// Files are prefix-relative slash paths of files and symlinks, sorted.
	Files []string
	// Sources maps the layer paths that come from outside the prefix (the
	// External files of the mode's report, and the folders above them that
	// do not exist under the prefix) to the absolute paths to read them
	// from. Nil when the layer holds only files of the prefix.
	Sources map[string]string
}

// excluded reports whether rel is excluded by the report's Exclude list. A
// pattern ending in "/" excludes a folder: "bin/x/" the folder at that path;
// a bare name like "__pycache__/" every folder of that name at any depth.
// Other patterns are exact paths, or shell patterns (path.Match) when they
// hold a '*'.
type excluder struct {
	exact  map[string]bool
	dirs   map[string]bool
	anyDir map[string]bool
	globs  []string
}

func newExcluder(ex []string) *excluder {
	e := &excluder{exact: map[string]bool{}, dirs: map[string]bool{}, anyDir: map[string]bool{}}
	for _, p := range ex {
		p = strings.TrimPrefix(p, "./")
		switch {
		case strings.HasSuffix(p, "/") && !strings.Contains(strings.TrimSuffix(p, "/"), "/"):
			e.anyDir[strings.TrimSuffix(p, "/")] = true
			e.dirs[strings.TrimSuffix(p, "/")] = true
		case strings.HasSuffix(p, "/"):
			e.dirs[strings.TrimSuffix(p, "/")] = true
		case strings.ContainsAny(p, "*?["):
			e.globs = append(e.globs, p)
		default:
			e.exact[p] = true
		}
	}
	return e
}

func (e *excluder) dir(rel string) bool {
	return e.dirs[rel] || e.anyDir[path.Base(rel)] || e.exact[rel] || e.glob(rel)
}

func (e *excluder) file(rel string) bool { return e.exact[rel] || e.glob(rel) }

func (e *excluder) glob(rel string) bool {
	for _, g := range e.globs {
		if ok, _ := path.Match(g, rel); ok {
			return true
		}
	}
	return false
}

// Plan walks prefix and puts every file and symlink in a layer: the first
// package (by name) that lists it owns it, the rest goes to the base layer.
// Excluded paths, and the Drop files of every package, are left out
// entirely. A package's External files join its layer at their Dest (read
// from their Src, see Layer.Sources); such a Dest wins over a file of the
// prefix at the same path. Package layers come sorted by name; the base
// layer is first. Empty package layers are dropped.
func Plan(prefix string, rep mode.FilesReport) ([]Layer, error) {
	return plan(prefix, rep, func(fn walkFunc) error { return walkDir(prefix, fn) })
}

// PlanTree is Plan over a Tree of the prefix already walked: it does not
// walk the prefix again (but for the __pycache__ folders the Tree did not
// enter, when the report does not exclude them).
func PlanTree(t *Tree, rep mode.FilesReport) ([]Layer, error) {
	return plan(t.Prefix, rep, t.walk)
}

// walkFunc gets every folder, file and symlink under a prefix (not the
// prefix itself) by its slash path relative to the prefix, in lexical
// order; filepath.SkipDir from a folder skips what is under it.
type walkFunc func(rel string, d fs.DirEntry) error

// walkDir walks prefix from disk with fn.
func walkDir(prefix string, fn walkFunc) error {
	return filepath.WalkDir(prefix, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == prefix {
			return nil
		}
		rel, err := filepath.Rel(prefix, p)
		if err != nil {
			return err
		}
		return fn(filepath.ToSlash(rel), d)
	})
}

func plan(prefix string, rep mode.FilesReport, walk func(walkFunc) error) ([]Layer, error) {
	p, err := newPlanner(prefix, rep)
	if err != nil {
		return nil, err
	}
	var base []string
	err = walk(func(rel string, d fs.DirEntry) error {
		i, err := p.place(rel, d)
		switch {
		case err != nil || i == skipped:
			return err
		case i == inBase:
			base = append(base, rel)
		default:
			p.byPkg[i] = append(p.byPkg[i], rel)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return append([]Layer{baseLayer(base)}, p.packageLayers()...), nil
}

// planner holds the rules of a plan: which package owns a path (the first by
// name that lists it), what is excluded or dropped, and the External files
// of each package (already in byPkg, with their sources).
type planner struct {
	prefix   string
	ex       *excluder
	pkgs     []mode.PackageFiles // sorted by name
	owner    map[string]int
	drop     map[string]bool
	external map[string]bool
	byPkg    [][]string
	sources  []map[string]string
}

// What place says of a path that is not a package's.
const (
	skipped = -1 // not packed (or, for a folder: what is under it neither)
	inBase  = -2
)

func newPlanner(prefix string, rep mode.FilesReport) (*planner, error) {
	p := &planner{prefix: prefix, ex: newExcluder(rep.Exclude), owner: map[string]int{}, drop: map[string]bool{}, external: map[string]bool{}}
	p.pkgs = append([]mode.PackageFiles(nil), rep.Packages...)
	sort.Slice(p.pkgs, func(i, j int) bool { return p.pkgs[i].Name < p.pkgs[j].Name })
	for i, pk := range p.pkgs {
		for _, f := range pk.Files {
			f = cleanRel(f)
			if _, ok := p.owner[f]; !ok {
				p.owner[f] = i
			}
		}
		for _, f := range pk.Drop {
			p.drop[cleanRel(f)] = true
		}
	}
	p.byPkg = make([][]string, len(p.pkgs))
	p.sources = make([]map[string]string, len(p.pkgs))
	for i, pk := range p.pkgs {
		for _, x := range pk.External {
			dest, src, err := checkExternal(prefix, pk.Name, x)
			if err != nil {
				return nil, err
			}
			if p.external[dest] || p.drop[dest] || p.ex.file(dest) || excludedDir(p.ex, dest) {
				continue
			}
			p.external[dest] = true
			if p.sources[i] == nil {
				p.sources[i] = map[string]string{}
			}
			p.sources[i][dest] = src
			p.byPkg[i] = append(p.byPkg[i], dest)
			// The folders above it that the prefix does not have are read
			// from the folders above the source, level for level (only
			// their being folders matters).
			for d, s := path.Dir(dest), filepath.Dir(src); d != "."; d, s = path.Dir(d), filepath.Dir(s) {
				if _, ok := p.sources[i][d]; ok {
					break
				}
				if _, err := os.Lstat(filepath.Join(prefix, filepath.FromSlash(d))); err == nil {
					break
				}
				p.sources[i][d] = s
			}
		}
	}
	return p, nil
}

func cleanRel(f string) string { return path.Clean(strings.TrimPrefix(filepath.ToSlash(f), "./")) }

// place says where the walk's path rel goes: the index of the package that
// owns it, inBase, or skipped (a folder, or what is not packed;
// filepath.SkipDir for a folder whose content is not packed either).
func (p *planner) place(rel string, d fs.DirEntry) (int, error) {
	if d.IsDir() {
		if p.ex.dir(rel) {
			return skipped, filepath.SkipDir
		}
		return skipped, nil
	}
	if p.ex.file(rel) || p.drop[rel] || p.external[rel] {
		return skipped, nil
	}
	if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
		return skipped, fmt.Errorf("envpack: %s: %s is neither a file, a folder nor a symlink; environments cannot hold it", p.prefix, rel)
	}
	if i, ok := p.owner[rel]; ok {
		return i, nil
	}
	return inBase, nil
}

func baseLayer(files []string) Layer {
	sort.Strings(files)
	return Layer{Role: RoleBase, Files: files}
}

// packageLayers are the non-empty package layers of byPkg, by name.
func (p *planner) packageLayers() []Layer {
	var out []Layer
	for i, pk := range p.pkgs {
		if len(p.byPkg[i]) == 0 {
			continue
		}
		sort.Strings(p.byPkg[i])
		out = append(out, Layer{Role: RolePackage, Package: pk.Name + "==" + pk.Version, Files: p.byPkg[i], Sources: p.sources[i]})
	}
	return out
}

// Tree is a walk of an environment's prefix: every folder, file and symlink
// under it with its Lstat, but for what is under __pycache__ folders (which
// Python writes as it runs, and which modes leave out). Build walks the
// prefix once and uses the Tree for its fingerprint, the plan and the
// layers' stats.
type Tree struct {
	Prefix string
	// Entries are in lexical walk order; the first is the prefix itself
	// (Rel "").
	Entries []TreeEntry
	index   map[string]int
}

// TreeEntry is one path of a Tree.
type TreeEntry struct {
	Rel  string // slash path relative to the prefix
	Info fs.FileInfo
	// Skipped marks a __pycache__ folder whose content the walk left out.
	Skipped bool
}

// Walk walks prefix into a Tree, in the order filepath.WalkDir gives
// (lexical, a folder before what it holds; the content of a __pycache__
// folder below the prefix left out). Folders are read on several
// goroutines: the walk of a 23k-file environment is most of an unchanged
// rebuild, and its lstats wait on the kernel, not on one core. (Written
// here: filepath.WalkDir is serial, and no kept library gives WalkDir's
// order from a parallel walk.)
func Walk(prefix string) (*Tree, error) {
	fi, err := os.Lstat(prefix)
	if err != nil {
		return nil, err
	}
	root := &walkNode{entry: TreeEntry{Info: fi}}
	if fi.IsDir() {
		w := &treeWalker{prefix: prefix, sem: make(chan struct{}, 2*runtime.GOMAXPROCS(0))}
		w.fill(root)
		w.wg.Wait()
		if w.err != nil {
			return nil, w.err
		}
	}
	t := &Tree{Prefix: prefix, index: map[string]int{}}
	var add func(n *walkNode)
	add = func(n *walkNode) {
		t.index[n.entry.Rel] = len(t.Entries)
		t.Entries = append(t.Entries, n.entry)
		for _, k := range n.kids {
			add(k)
		}
	}
	add(root)
	return t, nil
}

// walkNode is one path Walk saw, with what it holds when it is a folder.
type walkNode struct {
	entry TreeEntry
	kids  []*walkNode
}

// treeWalker reads the folders of one Walk, a few at a time.
type treeWalker struct {
	prefix string
	sem    chan struct{} // the folders being read on their own goroutine
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error // the first error
}

func (w *treeWalker) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

// fill reads folder n: its entries (sorted by name, as os.ReadDir gives
// them) with their Lstat (lstatAt, relative to the open folder), and the folders among them, on a goroutine of
// their own while one is free, else on this one.
func (w *treeWalker) fill(n *walkNode) {
	dirPath := filepath.Join(w.prefix, filepath.FromSlash(n.entry.Rel))
	dir, err := os.Open(dirPath)
	if err != nil {
		w.fail(err)
		return
	}
	des, err := dir.ReadDir(-1)
	if err != nil {
		dir.Close()
		w.fail(err)
		return
	}
	slices.SortFunc(des, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	infos := make([]fs.FileInfo, len(des))
	fd := int(dir.Fd())
	for i, d := range des {
		if infos[i], err = lstatAt(fd, dirPath, d.Name()); err != nil {
			break
		}
	}
	dir.Close() // before going down: a walk holds one folder open at a time per goroutine
	if err != nil {
		w.fail(err)
		return
	}
	n.kids = make([]*walkNode, len(des))
	for i, d := range des {
		k := &walkNode{entry: TreeEntry{Rel: path.Join(n.entry.Rel, d.Name()), Info: infos[i]}}
		n.kids[i] = k
		if !d.IsDir() {
			continue
		}
		if d.Name() == "__pycache__" {
			k.entry.Skipped = true
			continue
		}
		select {
		case w.sem <- struct{}{}:
			w.wg.Add(1)
			go func() {
				defer func() { <-w.sem; w.wg.Done() }()
				w.fill(k)
			}()
		default:
			w.fill(k)
		}
	}
}

// Stat returns the Lstat of rel made by the walk, or nil when the walk did
// not see it.
func (t *Tree) Stat(rel string) fs.FileInfo {
	if t == nil {
		return nil
	}
	if i, ok := t.index[rel]; ok {
		return t.Entries[i].Info
	}
	return nil
}

// walk calls fn as walkDir would, from the Tree.
func (t *Tree) walk(fn walkFunc) error {
	skip := ""
	for _, e := range t.Entries {
		if e.Rel == "" {
			continue
		}
		if skip != "" && strings.HasPrefix(e.Rel, skip) {
			continue
		}
		skip = ""
		err := fn(e.Rel, fs.FileInfoToDirEntry(e.Info))
		if err == filepath.SkipDir && e.Info.IsDir() {
			skip = e.Rel + "/"
			continue
		}
		if err != nil {
			return err
		}
		if e.Skipped {
			// A __pycache__ folder the report does not exclude: its content
			// from disk.
			dir := filepath.Join(t.Prefix, filepath.FromSlash(e.Rel))
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if p == dir {
					return nil
				}
				rel, err := filepath.Rel(t.Prefix, p)
				if err != nil {
					return err
				}
				return fn(filepath.ToSlash(rel), d)
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// checkExternal validates one External file of package name: a clean
// relative Dest that stays under the prefix, and a Src that is (or, through
// symlinks, resolves to) a regular file. It returns the Dest cleaned and the
// Src resolved.
func checkExternal(prefix, name string, x mode.ExternalFile) (string, string, error) {
	dest := filepath.ToSlash(x.Dest)
	clean := path.Clean(strings.TrimPrefix(dest, "./"))
	if dest == "" || path.IsAbs(dest) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", "", fmt.Errorf("envpack: %s: external file %q has a bad destination %q (must be relative to the prefix and stay under it)", name, x.Src, x.Dest)
	}
	if !filepath.IsAbs(x.Src) {
		return "", "", fmt.Errorf("envpack: %s: external file %q for %s is not an absolute path", name, x.Src, clean)
	}
	src, err := filepath.EvalSymlinks(x.Src)
	if err != nil {
		return "", "", fmt.Errorf("envpack: %s: external file for %s: %w", name, clean, err)
	}
	st, err := os.Stat(src)
	if err != nil {
		return "", "", fmt.Errorf("envpack: %s: external file for %s: %w", name, clean, err)
	}
	if !st.Mode().IsRegular() {
		return "", "", fmt.Errorf("envpack: %s: external file %s (for %s) is not a regular file", name, x.Src, clean)
	}
	return clean, src, nil
}

// excludedDir reports whether a folder above rel is excluded.
func excludedDir(ex *excluder, rel string) bool {
	for d := path.Dir(rel); d != "."; d = path.Dir(d) {
		if ex.dir(d) {
			return true
		}
	}
	return false
}

// MaxScan is the largest file the scrubber reads to look for absolute paths;
// bigger files are packed as they are.
const MaxScan = 64 << 20

// Scrubber replaces the build machine's prefix and workdir in text files with
// placeholders, and records which files it changed and which binary files
// still hold the prefix. Safe for concurrent use.
type Scrubber struct {
	root            string
	prefix, workdir []byte
	// prefixURL and workdirURL are the paths as file: URLs spell them
	// (pip's direct_url.json: "file:///my%20work/wheels/x.whl"); nil when
	// the same as the plain path.
	prefixURL, workdirURL []byte
	// inWorkdir: the prefix is under the workdir, in both spellings, so
	// content without the workdir holds no prefix either (one scan of a
	// file that has neither, not two).
	inWorkdir bool

	// source maps layer paths read from outside the prefix (see
	// Layer.Sources).
	source func(rel string) string

	mu     sync.Mutex
	text   []string
	binary []string
}

// SetSource tells the scrubber where the files of a layer that come from
// outside the prefix are (bundle.PackOptions.Source): their layer paths are
// not under the prefix.
func (s *Scrubber) SetSource(source func(rel string) string) { s.source = source }

// NewScrubber scrubs prefix and workdir (absolute paths) from the files of
// the environment at prefix.
func NewScrubber(prefix, workdir string) *Scrubber {
	s := &Scrubber{root: prefix, prefix: []byte(prefix)}
	if q := urlPath(prefix); q != prefix {
		s.prefixURL = []byte(q)
	}
	if workdir != "" {
		s.workdir = []byte(workdir)
		if q := urlPath(workdir); q != workdir {
			s.workdirURL = []byte(q)
		}
		s.inWorkdir = strings.HasPrefix(prefix, workdir) && (s.prefixURL == nil || strings.HasPrefix(string(s.prefixURL), urlPath(workdir)))
	}
	return s
}

// urlPath escapes p as Python's urllib.parse.quote (which pip's
// pathname2url uses) does: every byte but letters, digits and "_.-~/" as %XX.
func urlPath(p string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_.-~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// replacePath replaces the absolute path old in data with repl wherever it
// stands as a whole path or the start of one, whatever comes before it
// ("-L/p/lib", "-I/p/include", "prefix=/p", "file:///p", "'/p'"): an
// absolute path is a path wherever it starts. Only what follows bounds it:
// "/", a quote, whitespace, ":", ";", ",", "=", a bracket, the end, or
// any other byte that cannot continue a file name; so "/w" is not replaced
// in "/wheels" or "/w2" (there old is only the beginning of a longer name).
func replacePath(data, old, repl []byte) []byte {
	if len(old) == 0 || !bytes.Contains(data, old) {
		return data
	}
	var out []byte
	rest := data
	for {
		i := bytes.Index(rest, old)
		if i < 0 {
			return append(out, rest...)
		}
		end := i + len(old)
		out = append(out, rest[:i]...)
		if end == len(rest) || !nameByte(rest[end]) {
			out = append(out, repl...)
		} else {
			out = append(out, old...)
		}
		rest = rest[end:]
	}
}

// nameByte reports whether c can continue a file name after a path.
func nameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c >= 0x80 || strings.IndexByte("._-~%+@", c) >= 0
}

// contains reports whether data holds x (when x is set).
func contains(data, x []byte) bool { return x != nil && bytes.Contains(data, x) }

// shForm is the head distlib (pip) writes instead of "#!PYTHON" when the
// interpreter's path has spaces or is too long for a shebang line.
var shForm = []byte("#!/bin/sh\n'''exec' ")

// plainShebang turns pip's /bin/sh head of a script of the environment
// (whose interpreter path was already replaced by the placeholder) back
// into a plain "#!PLACEHOLDER/bin/python" line, so that a packed script
// does not depend on whether the build prefix had spaces or was long. The
// mode rewrites script heads at restore anyway (both forms).
func plainShebang(b []byte) []byte {
	if !bytes.HasPrefix(b, shForm) {
		return b
	}
	_, rest, _ := bytes.Cut(b, []byte("\n"))
	line2, rest2, _ := bytes.Cut(rest, []byte("\n"))
	line3, rest3, ok := bytes.Cut(rest2, []byte("\n"))
	if !ok || strings.TrimSpace(string(line3)) != "' '''" {
		return b
	}
	interp := strings.TrimSpace(strings.TrimPrefix(string(line2), "'''exec' "))
	if strings.HasPrefix(interp, "'") || strings.HasPrefix(interp, `"`) {
		q := interp[:1]
		i := strings.Index(interp[1:], q)
		if i < 0 || strings.TrimSpace(interp[i+2:]) != `"$0" "$@"` {
			return b
		}
		interp = interp[1 : 1+i]
	} else {
		f := strings.Fields(interp)
		if len(f) != 3 || f[1] != `"$0"` || f[2] != `"$@"` {
			return b
		}
		interp = f[0]
	}
	if !strings.HasPrefix(interp, mode.PrefixPlaceholder+"/") || strings.ContainsAny(interp, " \t") {
		return b
	}
	return append([]byte("#!"+interp+"\n"), rest3...)
}

// Rewrite says which files Transform may see: every file up to MaxScan bytes.
func (s *Scrubber) Rewrite(rel string) bool {
	full := filepath.Join(s.root, filepath.FromSlash(rel))
	if s.source != nil {
		if p := s.source(rel); p != "" {
			full = p
		}
	}
	st, err := os.Lstat(full)
	return err == nil && st.Mode().IsRegular() && st.Size() <= MaxScan
}

// Transform replaces the paths in a text file; a binary file holding the
// prefix is recorded and left as it is.
func (s *Scrubber) Transform(rel string, data []byte) ([]byte, bool) {
	changed := false
	norm := func(out []byte, ok bool) {
		if ok {
			data, changed = out, true
		}
	}
	switch {
	case isRecord(rel):
		norm(normalizeRecord(data))
	case isCondaMetaRecord(rel):
		norm(normalizeCondaRecord(data))
	case rel == "conda-meta/history":
		norm(normalizeCondaHistory(data))
	}
	hasWorkdir := contains(data, s.workdir) || contains(data, s.workdirURL)
	hasPrefix := (hasWorkdir || !s.inWorkdir) && (bytes.Contains(data, s.prefix) || contains(data, s.prefixURL))
	if !hasPrefix && !hasWorkdir {
		return data, changed
	}
	if bytes.IndexByte(data, 0) >= 0 {
		if hasPrefix {
			s.mu.Lock()
			s.binary = append(s.binary, rel)
			s.mu.Unlock()
		}
		return data, changed
	}
	out := replacePath(data, s.prefix, []byte(mode.PrefixPlaceholder))
	if s.prefixURL != nil {
		out = replacePath(out, s.prefixURL, []byte(mode.PrefixPlaceholder))
	}
	if s.workdir != nil {
		out = replacePath(out, s.workdir, []byte(mode.WorkdirPlaceholder))
	}
	if s.workdirURL != nil {
		out = replacePath(out, s.workdirURL, []byte(mode.WorkdirPlaceholder))
	}
	out = plainShebang(out)
	s.mu.Lock()
	s.text = append(s.text, rel)
	s.mu.Unlock()
	return out, true
}

// Result returns the sorted text files changed and binary files recorded.
func (s *Scrubber) Result() (text, binary []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	text = append([]string(nil), s.text...)
	binary = append([]string(nil), s.binary...)
	sort.Strings(text)
	sort.Strings(binary)
	return text, binary
}

func isRecord(rel string) bool {
	return path.Base(rel) == "RECORD" && strings.HasSuffix(path.Dir(rel), ".dist-info")
}

// normalizeRecord blanks the hash and size of RECORD entries outside
// site-packages ("../../../bin/x") and of direct_url.json: console scripts,
// data files and direct_url.json hold the environment's or the workdir's
// path, so their hashes differ per build folder and are wrong after
// relocation anyway. pip accepts entries without a hash (RECORD's own
// line has none).
func normalizeRecord(data []byte) ([]byte, bool) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, false
	}
	changed := false
	for _, rec := range recs {
		if len(rec) >= 3 && (strings.HasPrefix(rec[0], "../") || strings.HasSuffix(rec[0], ".dist-info/direct_url.json")) && (rec[1] != "" || rec[2] != "") {
			rec[1], rec[2] = "", ""
			changed = true
		}
	}
	if !changed {
		return nil, false
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(recs); err != nil {
		return nil, false
	}
	return buf.Bytes(), true
}
