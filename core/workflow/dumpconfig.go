package workflow

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/swcli/swcli/internal/atomicfile"
)

// DumpDir is where `build -dpo/-dcc` put the user's pip config and condarc
// in the snapshot (under the workdir's .starwhale folder).
const DumpDir = DotDir + "/configs"

// pipConfigFiles are the pip configuration files pip reads, in its order
// (site-wide, then user; PIP_CONFIG_FILE alone when set).
func pipConfigFiles() []string {
	if f := os.Getenv("PIP_CONFIG_FILE"); f != "" {
		return []string{f}
	}
	home, _ := os.UserHomeDir()
	xdg := os.Getenv("XDG_CONFIG_HOME")
	if xdg == "" {
		xdg = filepath.Join(home, ".config")
	}
	return []string{"/etc/xdg/pip/pip.conf", "/etc/pip.conf", filepath.Join(home, ".pip", "pip.conf"), filepath.Join(xdg, "pip", "pip.conf")}
}

// condarcFiles are the condarc files conda reads for a user (CONDARC first).
func condarcFiles() []string {
	home, _ := os.UserHomeDir()
	out := []string{"/etc/conda/.condarc", "/etc/conda/condarc", filepath.Join(home, ".config", "conda", ".condarc"), filepath.Join(home, ".conda", ".condarc"), filepath.Join(home, ".condarc")}
	if f := os.Getenv("CONDARC"); f != "" {
		out = append(out, f)
	}
	return out
}

// dumpConfigs writes the user's pip config (pip) and condarc (conda), their
// secrets masked, under WORKDIR/.starwhale/configs and gives their paths
// relative to wd, for the snapshot. Asking for one that exists nowhere is an
// error that lists where it looked.
func dumpConfigs(wd string, pip, conda bool) ([]string, error) {
	var out []string
	for _, d := range []struct {
		want       bool
		flag, name string
		files      []string
	}{{pip, "--dump-pip-options", "pip.conf", pipConfigFiles()}, {conda, "--dump-condarc", "condarc", condarcFiles()}} {
		if !d.want {
			continue
		}
		var b strings.Builder
		for _, f := range d.files {
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			fmt.Fprintf(&b, "# from %s\n%s\n", f, MaskSecrets(string(data)))
		}
		if b.Len() == 0 {
			return nil, usagef("%s: found no %s (looked in %s)", d.flag, d.name, strings.Join(d.files, ", "))
		}
		rel := DumpDir + "/" + d.name
		if err := atomicfile.Write(filepath.Join(wd, filepath.FromSlash(rel)), []byte(b.String()), 0o644); err != nil {
			return nil, err
		}
		out = append(out, rel)
	}
	return out, nil
}

var (
	secretKeyRe = regexp.MustCompile(`(?im)^(\s*-?\s*[A-Za-z0-9_.-]*(?:password|passwd|token|secret|api[_-]?key|auth)[A-Za-z0-9_.-]*\s*[=:]\s*)\S.*$`)
	urlUserRe   = regexp.MustCompile(`(://)([^/\s:@]+)(:[^/\s@]*)?@`)
	condaTokRe  = regexp.MustCompile(`/t/[^/\s]+/`)
)

// MaskSecrets hides what a pip config or condarc holds that lets someone in:
// values of keys naming a password, token, secret or API key, passwords (and
// lone tokens) in URLs, and anaconda.org /t/TOKEN/ path parts. It works on
// lines, so INI and YAML alike.
func MaskSecrets(s string) string {
	s = secretKeyRe.ReplaceAllString(s, "${1}***")
	s = urlUserRe.ReplaceAllStringFunc(s, func(m string) string {
		p := urlUserRe.FindStringSubmatch(m)
		if p[3] == "" {
			return p[1] + "***@" // a token as the user name
		}
		return p[1] + p[2] + ":***@"
	})
	return condaTokRe.ReplaceAllString(s, "/t/***/")
}
