package condamode

import (
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/plugins/internal/pyeditable"
)

// Files lists one PackageFiles per conda package (its conda-meta "files" plus
// its conda-meta record, which conda needs on the target) and one per
// pip-installed distribution (its RECORD, without files a conda package owns).
// Everything else (conda-meta/history, ...) is the base layer. Excluded:
// every __pycache__/ folder and a pkgs/ cache.
//
// With IncludeEditable, a pip editable install (PEP 660: a dist-info whose
// direct_url.json says editable) also lists the files of its source tree as
// External and the files pointing at it as Drop (plugins/internal/pyeditable).
// Legacy ones (setup.py develop: .egg-link) are not dist-infos, so this mode
// does not see them at all.
func (m *Mode) Files(ctx context.Context, req mode.FilesRequest) (mode.FilesReport, error) {
	env := req.Env
	if err := checkEnv(env); err != nil {
		return mode.FilesReport{}, err
	}
	recs, err := condaRecords(env.Prefix)
	if err != nil {
		return mode.FilesReport{}, err
	}
	info, err := inspect(ctx, env.Prefix)
	if err != nil {
		return mode.FilesReport{}, err
	}
	rep := mode.FilesReport{Python: info.Python, Platform: info.Platform, ABI: info.ABI}
	owned := map[string]bool{}
	for _, r := range recs {
		if r.Name == "python" && r.Version != "" {
			rep.Python = r.Version
		}
		files := []string{r.file}
		for _, f := range r.Files {
			f = filepath.ToSlash(filepath.Clean(f))
			if skipFile(f) || !exists(env.Prefix, f) {
				continue
			}
			owned[f] = true
			files = append(files, f)
		}
		sort.Strings(files)
		rep.Packages = append(rep.Packages, mode.PackageFiles{
			Name: r.Name, Version: r.Version, Installer: mode.InstallerConda, Files: dedupe(files)})
	}
	for _, d := range pipDists(info, recs) {
		var files []string
		for _, f := range d.Files {
			if skipFile(f) || owned[f] || !exists(env.Prefix, f) {
				continue
			}
			owned[f] = true
			files = append(files, f)
		}
		sort.Strings(files)
		pf := mode.PackageFiles{Name: d.Name, Version: d.Version, Installer: mode.InstallerPip, Files: dedupe(files)}
		if req.IncludeEditable && isEditable(d.DirectURL) {
			res, err := pyeditable.Resolve(env.Prefix, pyeditable.Dist{Name: d.Name, Version: d.Version,
				SiteRel: path.Dir(d.DistInfo), DistInfo: d.DistInfo, Files: d.Files})
			if err != nil {
				return mode.FilesReport{}, err
			}
			pf.External, pf.Drop = res.External, res.Drop
		}
		rep.Packages = append(rep.Packages, pf)
	}
	// Every __pycache__ folder, and conda's package cache if one lives here.
	_ = filepath.WalkDir(env.Prefix, func(p string, de fs.DirEntry, err error) error {
		if err != nil || !de.IsDir() {
			return nil
		}
		if de.Name() == "__pycache__" {
			rel, _ := filepath.Rel(env.Prefix, p)
			rep.Exclude = append(rep.Exclude, filepath.ToSlash(rel)+"/")
			return filepath.SkipDir
		}
		return nil
	})
	if st, err := os.Stat(filepath.Join(env.Prefix, "pkgs")); err == nil && st.IsDir() {
		rep.Exclude = append(rep.Exclude, "pkgs/")
	}
	sort.Strings(rep.Exclude)
	return rep, nil
}

// isEditable reports whether a direct_url.json says editable.
func isEditable(du map[string]any) bool {
	di, _ := du["dir_info"].(map[string]any)
	ed, _ := di["editable"].(bool)
	return ed
}

func skipFile(rel string) bool {
	return strings.Contains("/"+rel+"/", "/__pycache__/") || strings.HasPrefix(rel, "pkgs/") || strings.HasPrefix(rel, "../")
}

func exists(prefix, rel string) bool {
	_, err := os.Lstat(filepath.Join(prefix, filepath.FromSlash(rel)))
	return err == nil
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
