package venvmode

import (
	"context"
	"encoding/csv"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"sort"
	"strings"
	"sync"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/plugins/internal/pyeditable"
	"github.com/swcli/swcli/sdk/pyenv"
)

// venvBin matches what venv itself writes into bin/.
var venvBin = regexp.MustCompile(`^(python(\d+(\.\d+)?)?|activate(\.(csh|fish|nu|xsh|bat))?|Activate\.ps1|deactivate\.(bat|nu))$`)

// Files lists the files of every distribution in the environment's
// site-packages (purelib and platlib) from its RECORD, relative to the prefix:
// console scripts (../../../bin/x in RECORD) become bin/x, __pycache__ and
// *.pyc are left out, and only files that exist are kept. Exclude names what
// Create and Relocate regenerate on the target: pyvenv.cfg, bin/python*,
// bin/activate*, bin/Activate.ps1, lib64 and "__pycache__/" (every folder of
// that name). The prefix is not walked: the host walks it anyway, and each
// RECORD entry is checked with one Lstat.
//
// With IncludeEditable, each editable install also lists the files of its
// source tree as External (at the paths a normal install would give them)
// and the files that point at the source tree as Drop (see
// plugins/internal/pyeditable); a legacy one (setup.py develop, whose
// metadata is the project's *.egg-info) gets a PackageFiles of its own.
func (m *Mode) Files(ctx context.Context, req mode.FilesRequest) (mode.FilesReport, error) {
	prefix := filepath.Clean(req.Env.Prefix)
	info, err := m.inspectFiles(ctx, req.Env, prefix, req.IncludeEditable)
	if err != nil {
		return mode.FilesReport{}, err
	}
	rep := mode.FilesReport{Python: info.Python, Platform: info.Platform, ABI: info.ABI, Packages: []mode.PackageFiles{}}
	exclude := excludes(prefix)
	rep.Exclude = exclude
	// rel is excluded when it is an entry of exclude, or under one that
	// ends with "/".
	exact, dirs := map[string]bool{}, map[string]bool{}
	for _, e := range exclude {
		exact[strings.TrimSuffix(e, "/")] = true
		if d, ok := strings.CutSuffix(e, "/"); ok {
			dirs[d] = true
		}
	}
	excluded := func(rel string) bool {
		if exact[rel] {
			return true
		}
		for d := path.Dir(rel); d != "." && d != "/" && d != ""; d = path.Dir(d) {
			if dirs[d] {
				return true
			}
		}
		return false
	}

	editable := map[string]distInfo{}
	if req.IncludeEditable {
		for _, d := range info.Dists {
			if d.Editable {
				editable[pyenv.CanonicalName(d.Name)] = d
			}
		}
	}
	done := map[string]bool{}
	var sites []string // prefix-relative
	seen := map[string]bool{}
	for _, site := range info.SiteDirs {
		siteRel, ok := relUnder(prefix, site)
		if !ok {
			continue // not inside the environment
		}
		real, err := filepath.EvalSymlinks(site)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		sites = append(sites, siteRel)
		ents, err := os.ReadDir(site)
		if err != nil {
			continue
		}
		var dis []os.DirEntry
		for _, e := range ents {
			if e.IsDir() && strings.HasSuffix(e.Name(), ".dist-info") {
				dis = append(dis, e)
			}
		}
		// The dist-info folders are read in parallel.
		pfs := make([]*mode.PackageFiles, len(dis))
		errs := make([]error, len(dis))
		var wg sync.WaitGroup
		next := make(chan int)
		for range max(1, min(len(dis), goruntime.NumCPU())) {
			wg.Go(func() {
				for i := range next {
					pfs[i], errs[i] = distFiles(prefix, siteRel, filepath.Join(site, dis[i].Name()), excluded)
				}
			})
		}
		for i := range dis {
			next <- i
		}
		close(next)
		wg.Wait()
		for i, e := range dis {
			pf, err := pfs[i], errs[i]
			if err != nil {
				return rep, mode.Errorf(mode.ErrInternal, "files: %s: %v", e.Name(), err)
			}
			if pf == nil {
				continue
			}
			if _, ok := editable[pf.Name]; ok && !done[pf.Name] {
				res, err := pyeditable.Resolve(prefix, pyeditable.Dist{Name: pf.Name, Version: pf.Version,
					SiteRel: siteRel, DistInfo: siteRel + "/" + e.Name(), Files: pf.Files})
				if err != nil {
					return rep, err
				}
				pf.External, pf.Drop = res.External, res.Drop
				done[pf.Name] = true
			}
			rep.Packages = append(rep.Packages, *pf)
		}
	}
	if len(editable) > len(done) {
		legacy, err := legacyEditables(prefix, sites, editable, done)
		if err != nil {
			return rep, err
		}
		rep.Packages = append(rep.Packages, legacy...)
	}
	sort.Slice(rep.Packages, func(i, j int) bool { return rep.Packages[i].Name < rep.Packages[j].Name })
	return rep, nil
}

// legacyEditables reports the editable installs Files did not find a
// dist-info of: legacy ones (setup.py develop), whose metadata is a
// NAME.egg-info folder in the project and whose link is NAME.egg-link and a
// line of easy-install.pth. easy-install.pth is dropped too when every
// folder it lists is packed.
func legacyEditables(prefix string, sites []string, editable map[string]distInfo, done map[string]bool) ([]mode.PackageFiles, error) {
	var names []string
	for n := range editable {
		if !done[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []mode.PackageFiles
	packed := map[string]bool{}
	for _, n := range names {
		d := editable[n]
		loc := filepath.Clean(d.Location)
		st, err := os.Stat(loc)
		if d.Location == "" || !strings.HasSuffix(loc, ".egg-info") || err != nil || !st.IsDir() {
			return nil, mode.Errorf(mode.ErrInvalid, "%s %s is an editable install and --include-editable cannot pack it: its metadata is not a dist-info in the environment nor a project's .egg-info folder (%q)", d.Name, d.Version, d.Location)
		}
		pd := pyeditable.Dist{Name: n, Version: d.Version, EggInfo: loc}
		if len(sites) > 0 {
			pd.SiteRel = sites[0]
		}
	find:
		for _, s := range sites {
			ents, _ := os.ReadDir(filepath.Join(prefix, filepath.FromSlash(s)))
			for _, e := range ents {
				if base, ok := strings.CutSuffix(e.Name(), ".egg-link"); ok && pyenv.CanonicalName(base) == n {
					pd.SiteRel, pd.EggLink = s, s+"/"+e.Name()
					break find
				}
			}
		}
		if pd.SiteRel == "" {
			return nil, mode.Errorf(mode.ErrInvalid, "%s %s: the environment has no site-packages folder", d.Name, d.Version)
		}
		res, err := pyeditable.Resolve(prefix, pd)
		if err != nil {
			return nil, err
		}
		for _, r := range res.Roots {
			packed[r] = true
		}
		pf := mode.PackageFiles{Name: n, Version: d.Version, Installer: mode.InstallerPip, Files: []string{},
			External: res.External, Drop: res.Drop}
		if pd.EggLink != "" {
			pf.Files = append(pf.Files, pd.EggLink)
		}
		out = append(out, pf)
	}
	for _, s := range sites {
		rel := s + "/easy-install.pth"
		roots, _, err := pyeditable.PthRoots(filepath.Join(prefix, filepath.FromSlash(rel)))
		if err != nil || len(out) == 0 {
			continue
		}
		all := true
		for _, r := range roots {
			all = all && packed[r]
		}
		if all {
			out[0].Drop = append(out[0].Drop, rel)
			sort.Strings(out[0].Drop)
		}
	}
	return out, nil
}

// distFiles reads one dist-info folder: its METADATA for the name and
// version, its RECORD for the files, plus any file of the folder itself that
// RECORD misses.
func distFiles(prefix, siteRel, distInfo string, excluded func(string) bool) (*mode.PackageFiles, error) {
	name, version, err := pyenv.ReadMetadata(filepath.Join(distInfo, "METADATA"))
	if err != nil || name == "" {
		return nil, nil // not a readable distribution; it stays in the base
	}
	pf := &mode.PackageFiles{Name: pyenv.CanonicalName(name), Version: version, Installer: mode.InstallerPip, Files: []string{}}
	set := map[string]bool{}
	add := func(rel string) {
		if set[rel] || rel == "" || excluded(rel) {
			return
		}
		if strings.HasSuffix(rel, ".pyc") || strings.Contains("/"+rel+"/", "/__pycache__/") {
			return
		}
		if st, err := os.Lstat(filepath.Join(prefix, filepath.FromSlash(rel))); err != nil || st.IsDir() {
			return
		}
		set[rel] = true
	}
	if f, err := os.Open(filepath.Join(distInfo, "RECORD")); err == nil {
		r := csv.NewReader(f)
		r.FieldsPerRecord = -1
		r.LazyQuotes = true
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil || len(rec) == 0 {
				continue
			}
			p := strings.ReplaceAll(rec[0], "\\", "/")
			var rel string
			if path.IsAbs(p) {
				r, ok := relUnder(prefix, filepath.FromSlash(p))
				if !ok {
					continue
				}
				rel = r
			} else {
				rel = path.Clean(siteRel + "/" + p)
			}
			if rel == ".." || strings.HasPrefix(rel, "../") || path.IsAbs(rel) {
				continue // outside the prefix
			}
			add(rel)
		}
		f.Close()
	}
	distRel := siteRel + "/" + filepath.Base(distInfo)
	_ = filepath.WalkDir(distInfo, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		r, err := filepath.Rel(distInfo, p)
		if err == nil {
			add(distRel + "/" + filepath.ToSlash(r))
		}
		return nil
	})
	for f := range set {
		pf.Files = append(pf.Files, f)
	}
	sort.Strings(pf.Files)
	return pf, nil
}

// pycacheExclude leaves out every __pycache__ folder, at any depth (a bare
// folder name: see mode.FilesReport.Exclude), without walking the prefix
// to list them.
const pycacheExclude = "__pycache__/"

// excludes lists what must not be packed because Create (on the target) or
// Relocate regenerates it.
func excludes(prefix string) []string {
	out := []string{pycacheExclude}
	for _, n := range []string{"pyvenv.cfg", ".gitignore", "lib64"} {
		if _, err := os.Lstat(filepath.Join(prefix, n)); err == nil {
			out = append(out, n)
		}
	}
	bins, _ := os.ReadDir(filepath.Join(prefix, "bin"))
	for _, b := range bins {
		n := b.Name()
		if venvBin.MatchString(n) {
			out = append(out, "bin/"+n)
		}
	}
	sort.Strings(out)
	return out
}
