package condamode

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/swcli/swcli/core/mode"
)

// inspectScript runs with PREFIX/bin/python (any Python 3.6+) and prints, as
// JSON, the interpreter's version, platform and ABI and every *.dist-info in
// its site-packages with its INSTALLER, direct_url.json and RECORD.
const inspectScript = `
import json, os, sys, sysconfig
prefix = os.path.realpath(sys.argv[1])
def meta(path):
    name = version = None
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break
                if line.startswith("Name:") and name is None:
                    name = line[5:].strip()
                elif line.startswith("Version:") and version is None:
                    version = line[8:].strip()
    except OSError:
        pass
    return name, version
def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None
sps = []
for key in ("purelib", "platlib"):
    p = os.path.realpath(sysconfig.get_paths()[key])
    if p not in sps and os.path.isdir(p):
        sps.append(p)
dists = []
for sp in sps:
    for entry in sorted(os.listdir(sp)):
        if not entry.endswith(".dist-info"):
            continue
        di = os.path.join(sp, entry)
        name, version = meta(os.path.join(di, "METADATA"))
        if not name:
            continue
        files = []
        rec = read(os.path.join(di, "RECORD")) or ""
        for line in rec.splitlines():
            p = line.split(",")[0]
            if not p:
                continue
            full = os.path.normpath(os.path.join(sp, p))
            rel = os.path.relpath(full, prefix)
            if rel.startswith(".."):
                continue
            files.append(rel.replace(os.sep, "/"))
        du = read(os.path.join(di, "direct_url.json"))
        try:
            du = json.loads(du) if du else None
        except ValueError:
            du = None
        src = read(os.path.join(di, "swcli-source.json"))
        try:
            src = json.loads(src) if src else None
        except ValueError:
            src = None
        dists.append({
            "name": name, "version": version,
            "installer": (read(os.path.join(di, "INSTALLER")) or "").strip(),
            "dist_info": os.path.relpath(di, prefix).replace(os.sep, "/"),
            "files": files, "direct_url": du, "swcli_source": src,
        })
impl = sys.implementation
print(json.dumps({
    "python": "%d.%d.%d" % sys.version_info[:3],
    "platform": sysconfig.get_platform(),
    "abi": "cp%d%d" % sys.version_info[:2] if impl.name == "cpython" else impl.cache_tag,
    "dists": dists,
}))
`

type distInfo struct {
	Name      string         `json:"name"`
	Version   string         `json:"version"`
	Installer string         `json:"installer"`
	DistInfo  string         `json:"dist_info"`
	Files     []string       `json:"files"`
	DirectURL map[string]any `json:"direct_url"`
	// Source is what recordPipSources wrote for a wheel pip found through
	// an env file's --find-links (pip records no direct_url.json then).
	Source *pipSourceRecord `json:"swcli_source"`
}

type envInfo struct {
	Python   string     `json:"python"`
	Platform string     `json:"platform"`
	ABI      string     `json:"abi"`
	Dists    []distInfo `json:"dists"`
}

// inspect runs inspectScript with the environment's python.
func inspect(ctx context.Context, prefix string) (*envInfo, error) {
	res, err := run(ctx, nil, []string{pythonExe(prefix), "-I", "-c", inspectScript, prefix}, runOpts{jsonOut: true})
	if err != nil {
		return nil, toolError("reading the environment's packages with "+pythonExe(prefix)+" failed", res, err)
	}
	var info envInfo
	if err := json.Unmarshal([]byte(res.stdout), &info); err != nil {
		return nil, mode.Errorf(mode.ErrInternal, "reading the environment's packages: %v", err)
	}
	return &info, nil
}

// condaRecord is the part of a conda-meta/*.json record this mode reads.
type condaRecord struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	Build   string   `json:"build"`
	URL     string   `json:"url"`
	MD5     string   `json:"md5"`
	SHA256  string   `json:"sha256"`
	Files   []string `json:"files"`
	Depends []string `json:"depends"`
	Channel string   `json:"channel"`
	Subdir  string   `json:"subdir"`
	Fn      string   `json:"fn"`
	file    string   // conda-meta/NAME-VERSION-BUILD.json
}

// condaRecords reads PREFIX/conda-meta/*.json, sorted by name.
func condaRecords(prefix string) ([]condaRecord, error) {
	paths, _ := filepath.Glob(filepath.Join(prefix, "conda-meta", "*.json"))
	var recs []condaRecord
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, mode.Errorf(mode.ErrInternal, "read %s: %v", p, err)
		}
		var r condaRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, mode.Errorf(mode.ErrInvalid, "conda record %s: %v", p, err)
		}
		if r.Name == "" {
			continue
		}
		r.file = "conda-meta/" + filepath.Base(p)
		recs = append(recs, r)
	}
	if len(recs) == 0 {
		return nil, mode.Errorf(mode.ErrInvalid, "%s is not a conda environment (no conda-meta/*.json records)", prefix)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Name < recs[j].Name })
	return recs, nil
}

// pipDists are the distributions pip installed: INSTALLER says "pip" and no
// conda record owns their dist-info.
func pipDists(info *envInfo, recs []condaRecord) []distInfo {
	owned := map[string]bool{}
	for _, r := range recs {
		for _, f := range r.Files {
			owned[f] = true
		}
	}
	var out []distInfo
	for _, d := range info.Dists {
		if d.Installer != "pip" || owned[d.DistInfo+"/METADATA"] || owned[d.DistInfo+"/RECORD"] {
			continue
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return normName(out[i].Name) < normName(out[j].Name) })
	return out
}

func normName(n string) string {
	return strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(n))
}
