package pyenv

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/swcli/swcli/core/mode"
)

// Dist is one *.dist-info folder in site-packages.
type Dist struct {
	Name    string // PEP 503-normalized
	Version string // "" where METADATA has none (ReadSite keeps such a dist)
	Dir     string // the dist-info folder
	ModTime time.Time
}

var nameRun = regexp.MustCompile(`[-_.]+`)

// CanonicalName is the PEP 503 normalized form of a distribution name
// ("Foo_Bar" -> "foo-bar"): how lock entries, dist-info folders and index
// pages are matched.
func CanonicalName(name string) string {
	return strings.ToLower(nameRun.ReplaceAllString(name, "-"))
}

// ReadMetadata reads the Name (as written) and Version headers of a
// METADATA file; the headers end at the first empty line. A missing header
// is "". The error is the open's (os.ErrNotExist where there is no file) or
// the read's; name and version hold what was read before a read error.
func ReadMetadata(path string) (name, version string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "name":
			name = strings.TrimSpace(v)
		case "version":
			version = strings.TrimSpace(v)
		}
	}
	return name, version, sc.Err()
}

// readDist reads the dist-info folder e of site: d.Name is "" where its
// METADATA names no distribution or is missing (err is then
// os.ErrNotExist).
func readDist(site string, e fs.DirEntry) (d Dist, err error) {
	d.Dir = filepath.Join(site, e.Name())
	if info, ierr := e.Info(); ierr == nil {
		d.ModTime = info.ModTime()
	}
	name, version, err := ReadMetadata(filepath.Join(d.Dir, "METADATA"))
	if name != "" {
		d.Name = CanonicalName(name)
	}
	d.Version = version
	return d, err
}

// ReadDists reads the METADATA of every dist-info of site (a site-packages
// folder), sorted by name; one without a name or version is skipped, and so
// is anything that cannot be read (see ReadSite for a reader that says so).
func ReadDists(site string) []Dist {
	ents, _ := os.ReadDir(site)
	var out []Dist
	for _, e := range ents {
		if !e.IsDir() || !strings.HasSuffix(e.Name(), ".dist-info") {
			continue
		}
		d, _ := readDist(site, e) // what was read before an error counts
		if d.Name != "" && d.Version != "" {
			out = append(out, d)
		}
	}
	sortDists(out)
	return out
}

// ReadSite reads the distributions of site (one site-packages folder) as
// importlib.metadata (Python 3.8 and later) finds them, sorted by name, and
// says false where it cannot be sure to: where site holds *.egg-info,
// *.egg, *.egg-link or a .pth file (but setuptools'
// distutils-precedence.pth, which only imports), a name that Python 3.8 and
// 3.9 match by a prefix (x.dist-info-old), a *.dist-info that is not a
// folder or is not spelt in lower case, two dist-infos naming the same
// distribution (which one wins is Python's to say), or where anything
// cannot be read. A dist-info whose METADATA is missing or names no
// distribution is skipped (importlib.metadata finds none); one without a
// version is kept, with Version "".
func ReadSite(site string) ([]Dist, bool) {
	ents, err := os.ReadDir(site)
	if err != nil {
		return nil, false
	}
	seen := map[string]bool{}
	out := []Dist{}
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
				return nil, false
			}
			continue
		case !strings.HasSuffix(name, ".dist-info") || !e.IsDir():
			return nil, false
		}
		d, err := readDist(site, e)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, false
		}
		if d.Name == "" {
			continue
		}
		if seen[d.Name] {
			return nil, false
		}
		seen[d.Name] = true
		out = append(out, d)
	}
	sortDists(out)
	return out, true
}

func sortDists(ds []Dist) {
	sort.Slice(ds, func(i, j int) bool { return ds[i].Name < ds[j].Name })
}

// Record lists the paths of RECORD, relative to site-packages.
func (d Dist) Record() []string {
	b, err := os.ReadFile(filepath.Join(d.Dir, "RECORD"))
	if err != nil {
		return nil
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	var out []string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err == nil && len(rec) > 0 && rec[0] != "" {
			out = append(out, rec[0])
		}
	}
}

// Scripts maps console and GUI script names to "module:attr".
func (d Dist) Scripts() map[string]string {
	b, err := os.ReadFile(filepath.Join(d.Dir, "entry_points.txt"))
	if err != nil {
		return nil
	}
	out := map[string]string{}
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		case section == "console_scripts" || section == "gui_scripts":
			k, v, ok := strings.Cut(line, "=")
			k = strings.TrimSpace(k)
			if ok && k != "" && !strings.ContainsAny(k, "/\\") {
				v, _, _ = strings.Cut(v, "[") // drop extras: "mod:fn [extra]"
				out[k] = strings.TrimSpace(v)
			}
		}
	}
	return out
}

// Locked is the lock entry of d: its PEP 610 direct_url.json, if any, says
// where it came from (a URL, a VCS commit, or a local wheel, kept relative to
// the workdir) and its archive hashes.
func (d Dist) Locked(workdir string) mode.LockedPackage {
	p := mode.LockedPackage{Name: d.Name, Version: d.Version, Installer: mode.InstallerPip}
	var u struct {
		URL     string `json:"url"`
		VCSInfo *struct {
			VCS      string `json:"vcs"`
			CommitID string `json:"commit_id"`
		} `json:"vcs_info"`
		ArchiveInfo struct {
			Hashes map[string]string `json:"hashes"`
		} `json:"archive_info"`
		DirInfo struct {
			Editable bool `json:"editable"`
		} `json:"dir_info"`
	}
	b, err := os.ReadFile(filepath.Join(d.Dir, "direct_url.json"))
	if err != nil || json.Unmarshal(b, &u) != nil {
		return p // from an index
	}
	p.Source, p.Editable = u.URL, u.DirInfo.Editable
	if v := u.VCSInfo; v != nil {
		p.Source = v.VCS + "+" + u.URL + "@" + v.CommitID
	} else if pu, err := url.Parse(u.URL); err == nil && pu.Scheme == "file" && workdir != "" {
		if rel, err := filepath.Rel(workdir, pu.Path); err == nil && filepath.IsLocal(rel) {
			p.Source = filepath.ToSlash(rel)
		}
	}
	for alg, h := range u.ArchiveInfo.Hashes {
		p.Hashes = append(p.Hashes, alg+":"+h)
	}
	sort.Strings(p.Hashes)
	return p
}
