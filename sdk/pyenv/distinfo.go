package pyenv

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
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
	Version string
	Dir     string // the dist-info folder
	ModTime time.Time
}

var nameRun = regexp.MustCompile(`[-_.]+`)

// ReadDists reads the METADATA of every dist-info of site (a site-packages
// folder), sorted by name; one without a name or version is skipped.
func ReadDists(site string) []Dist {
	ents, _ := os.ReadDir(site)
	var out []Dist
	for _, e := range ents {
		if !e.IsDir() || !strings.HasSuffix(e.Name(), ".dist-info") {
			continue
		}
		d := Dist{Dir: filepath.Join(site, e.Name())}
		if info, err := e.Info(); err == nil {
			d.ModTime = info.ModTime()
		}
		f, err := os.Open(filepath.Join(d.Dir, "METADATA"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() && sc.Text() != "" { // headers end at the first empty line
			k, v, _ := strings.Cut(sc.Text(), ":")
			switch strings.ToLower(k) {
			case "name":
				d.Name = strings.ToLower(nameRun.ReplaceAllString(strings.TrimSpace(v), "-"))
			case "version":
				d.Version = strings.TrimSpace(v)
			}
		}
		f.Close()
		if d.Name != "" && d.Version != "" {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
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
