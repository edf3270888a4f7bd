package condamode

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/swcli/swcli/core/mode"
)

// Wheels found through --find-links in the pip: section of a conda env
// file. pip records where a distribution came from (direct_url.json) only
// when it was named by path or URL, so such a wheel would be locked as
// NAME==VERSION with no source, not carried in the bundle, and a restore
// from the lock would need the index it never came from. After the env
// file is installed, each such distribution gets a swcli-source.json in its
// dist-info folder (pip removes the whole folder on uninstall) naming the
// wheel, workdir-relative, and its sha256; Lock reports it as the
// distribution's source, as for a wheels: dependency, so the build carries
// the wheel.

// sourceFile is the name of the record in a dist-info folder.
const sourceFile = "swcli-source.json"

// pipSourceRecord is the content of swcli-source.json.
type pipSourceRecord struct {
	Source string `json:"source"` // workdir-relative slash path of the wheel
	SHA256 string `json:"sha256"`
}

// envFileFindLinks lists the folders the pip: section of the env file at
// file names with --find-links/-f (relative ones from the file's folder,
// where conda runs pip), then the configured ones.
func envFileFindLinks(env mode.Env, file string) []string {
	var out []string
	add := func(d string) {
		if d == "" || strings.Contains(d, "://") {
			return
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(filepath.Dir(file), d)
		}
		out = append(out, filepath.Clean(d))
	}
	b, err := os.ReadFile(file)
	if err == nil {
		var doc struct {
			Dependencies []yaml.Node `yaml:"dependencies"`
		}
		if yaml.Unmarshal(b, &doc) == nil {
			for _, n := range doc.Dependencies {
				var sec struct {
					Pip []string `yaml:"pip"`
				}
				if n.Kind != yaml.MappingNode || n.Decode(&sec) != nil {
					continue
				}
				for _, line := range sec.Pip {
					f := strings.Fields(line)
					for i := 0; i < len(f); i++ {
						switch {
						case (f[i] == "--find-links" || f[i] == "-f") && i+1 < len(f):
							add(f[i+1])
							i++
						case strings.HasPrefix(f[i], "--find-links="):
							add(strings.TrimPrefix(f[i], "--find-links="))
						}
					}
				}
			}
		}
	}
	for _, d := range env.Pip.FindLinks {
		add(inWorkdir(env, d))
	}
	return out
}

// recordPipSources writes swcli-source.json for the pip-installed
// distributions without a direct_url.json whose wheel is in one of the
// folders (and under the workdir).
func recordPipSources(ctx context.Context, env mode.Env, folders []string, ev mode.Events) error {
	if len(folders) == 0 || env.Workdir == "" {
		return nil
	}
	info, err := inspect(ctx, env.Prefix)
	if err != nil {
		return err
	}
	for _, d := range info.Dists {
		if d.Installer != "pip" || d.DirectURL != nil {
			continue
		}
		whl := findWheel(folders, d.Name, d.Version)
		if whl == "" {
			continue
		}
		rel, err := filepath.Rel(env.Workdir, whl)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			ev.Logf("warn", "%s %s came from %s, outside the workdir %s: the bundle cannot carry it", d.Name, d.Version, whl, env.Workdir)
			continue
		}
		sum, err := fileSHA256(whl)
		if err != nil {
			return mode.Errorf(mode.ErrInternal, "hash %s: %v", whl, err)
		}
		b, _ := json.Marshal(pipSourceRecord{Source: filepath.ToSlash(rel), SHA256: sum})
		p := filepath.Join(env.Prefix, filepath.FromSlash(d.DistInfo), sourceFile)
		if err := writeFileAtomic(p, append(b, '\n')); err != nil {
			return mode.Errorf(mode.ErrInternal, "write %s: %v", p, err)
		}
	}
	return nil
}

// findWheel is the one wheel of name and version in folders ("" when none,
// or when several could be it).
func findWheel(folders []string, name, version string) string {
	var found []string
	for _, dir := range folders {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			n := e.Name()
			if e.IsDir() || !strings.HasSuffix(n, ".whl") {
				continue
			}
			parts := strings.Split(strings.TrimSuffix(n, ".whl"), "-")
			if len(parts) >= 5 && normName(parts[0]) == normName(name) && parts[1] == version {
				found = append(found, filepath.Join(dir, n))
			}
		}
	}
	if len(found) != 1 {
		return ""
	}
	return found[0]
}

// writeFileAtomic writes p through a temporary file and a rename.
func writeFileAtomic(p string, data []byte) error {
	tmp := p + ".swcli-tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
