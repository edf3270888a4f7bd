package venvmode

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/internal/filehash"
	"github.com/swcli/swcli/internal/linkfile"
	"github.com/swcli/swcli/internal/treecache"
)

// The pip seeder puts the wheels an interpreter's ensurepip bundles (pip,
// and setuptools up to 3.11) into a new venv without running ensurepip,
// the way virtualenv's app-data seeder does: the wheels are unpacked and
// byte-compiled once per interpreter into a tree cache entry (keyed by the
// interpreter's path, version and the wheels' sha256), and every later venv
// links those files into its site-packages. What pip would write per
// environment — RECORD, INSTALLER, REQUESTED and the console scripts with
// this environment's shebang — is written, never linked. The result is
// what `python -m venv` gives.

// bundledProbe prints the interpreter's version and the wheel files
// ensurepip installs, asking ensurepip itself (its private tables changed
// across 3.6–3.13: _PROJECTS, _get_packages, _PIP_VERSION).
const bundledProbe = `import ensurepip, json, os, sys
d = os.path.join(os.path.dirname(ensurepip.__file__), "_bundled")
out = []
if hasattr(ensurepip, "_get_packages"):
    for name, p in sorted(ensurepip._get_packages().items()):
        out.append(p.wheel_path or os.path.join(d, p.wheel_name))
elif hasattr(ensurepip, "_PROJECTS"):
    for proj in ensurepip._PROJECTS:
        name, ver, tag = proj if len(proj) == 3 else (proj[0], proj[1], "py2.py3")
        out.append(os.path.join(d, "%s-%s-%s-none-any.whl" % (name, ver, tag)))
elif hasattr(ensurepip, "_PIP_VERSION"):
    wd = getattr(ensurepip, "_WHEEL_PKG_DIR", None)
    f = getattr(ensurepip, "_find_wheel_pkg_dir_pip", None)
    p = f() if f and wd else None
    out.append(str(p) if p else os.path.join(d, "pip-%s-py3-none-any.whl" % ensurepip._PIP_VERSION))
print(json.dumps({"version": "%d.%d.%d" % sys.version_info[:3], "wheels": out}))
`

// errNoSeed says this interpreter's bundled wheels cannot be seeded by
// linking (none found, or a wheel that needs more than purelib); the
// caller runs ensurepip instead.
var errNoSeed = errors.New("no seedable ensurepip wheels")

// seedDir is the tree cache of seeds, among the mode's caches.
func seedDir(env mode.Env) (string, error) { return cacheDir(env, "venv-seed") }

// SeedCache is the tree cache of pip seeds for env (tests check its
// entries stay intact).
func SeedCache(env mode.Env) (*treecache.Cache, error) {
	root, err := seedDir(env)
	if err != nil {
		return nil, err
	}
	return &treecache.Cache{Root: root}, nil
}

// seedPip seeds pip into the venv just made at env.Prefix by it.
func (m *Mode) seedPip(ctx context.Context, it interpreter, env mode.Env, ev mode.Events) error {
	out, err := probes(env).Output(ctx, it, bundledProbe)
	if err != nil {
		return fmt.Errorf("%w: %v", errNoSeed, err)
	}
	var probe struct {
		Version string   `json:"version"`
		Wheels  []string `json:"wheels"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &probe); err != nil || len(probe.Wheels) == 0 {
		return fmt.Errorf("%w: ensurepip of %s lists no wheels", errNoSeed, it.Path)
	}
	h := sha256.New()
	fmt.Fprintf(h, "seed v1\n%s\n%s\n", it.Path, probe.Version)
	for _, w := range probe.Wheels {
		// The wheels are named by version, so one replaced (a Debian
		// python3-pip-whl update) is a new file, and a missing one is a
		// stale answer: then ensurepip runs.
		sum, err := filehash.SHA256(w)
		if err != nil {
			return fmt.Errorf("%w: %v", errNoSeed, err)
		}
		fmt.Fprintf(h, "%s %s\n", filepath.Base(w), sum)
	}
	key := "py" + probe.Version + "-" + hex.EncodeToString(h.Sum(nil))[:24]
	cache, err := SeedCache(env)
	if err != nil {
		return err
	}
	cache.Logf = func(f string, a ...any) { m.log.Debug(fmt.Sprintf(f, a...)) }
	lm, err := linkMode(env)
	if err != nil {
		return err
	}
	linker := &linkfile.Linker{Mode: lm, Logf: func(f string, a ...any) { m.log.Debug(fmt.Sprintf(f, a...)) }}
	xy := probe.Version[:strings.LastIndex(probe.Version, ".")]
	site := filepath.Join(env.Prefix, "lib", "python"+xy, "site-packages")
	if st, err := os.Stat(site); err != nil || !st.IsDir() {
		return fmt.Errorf("%w: %s has no site-packages at %s", errNoSeed, env.Prefix, site)
	}
	fill := func(dir string) error {
		for _, w := range probe.Wheels {
			if err := unpackWheel(w, dir); err != nil {
				return err
			}
		}
		if err := treecache.WriteRequires(dir, []string{it.Path}); err != nil {
			return err
		}
		// Byte-compile as pip does on install; a file that does not compile
		// (pip vendors some Python-2-only test data) is left as source.
		_, _ = m.run(ctx, command{name: it.Path, args: []string{"-m", "compileall", "-q", dir}, what: "python -m compileall"}, ev, false)
		return nil
	}
	return cache.Use(ctx, key, fill, func(dir string, man treecache.Manifest, filled bool) error {
		if filled {
			m.log.Debug("pip seed cache filled", "key", key, "dir", dir)
		}
		if err := treecache.LinkTree(dir, man, site, treecache.Placement{Linker: linker, Skip: perEnvFile}); err != nil {
			return mode.Errorf(mode.ErrInternal, "seed pip into %s: %v", env.Prefix, err)
		}
		for _, it := range man.Items {
			if it.Mode.IsDir() && !strings.Contains(it.Path, "/") && strings.HasSuffix(it.Path, ".dist-info") {
				if err := writeInstalled(dir, man, it.Path, site, env.Prefix, xy); err != nil {
					return mode.Errorf(mode.ErrInternal, "seed pip into %s: %v", env.Prefix, err)
				}
			}
		}
		return nil
	})
}

// linkMode is Env.LinkMode, else SW_LINK_MODE, else Auto.
func linkMode(env mode.Env) (linkfile.Mode, error) {
	if env.LinkMode != "" {
		l, err := linkfile.Parse(env.LinkMode)
		if err != nil {
			return l, mode.Errorf(mode.ErrInvalid, "%v", err)
		}
		return l, nil
	}
	l, err := linkfile.FromEnv()
	if err != nil {
		return l, mode.Errorf(mode.ErrInvalid, "%v", err)
	}
	return l, nil
}

// perEnvFile tells the files of a dist-info that each environment gets
// its own of.
func perEnvFile(p string) bool {
	dir, base := path.Split(p)
	if !strings.HasSuffix(strings.TrimSuffix(dir, "/"), ".dist-info") || strings.Count(p, "/") != 1 {
		return false
	}
	return base == "RECORD" || base == "INSTALLER" || base == "REQUESTED"
}

// unpackWheel unpacks a pure-Python wheel into dir (its site-packages
// tree); a wheel with a .data folder is refused with errNoSeed.
func unpackWheel(whl, dir string) error {
	zr, err := zip.OpenReader(whl)
	if err != nil {
		return fmt.Errorf("%w: %v", errNoSeed, err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		name := f.Name
		if name == "" || strings.HasPrefix(name, "/") || path.Clean(name) != strings.TrimSuffix(name, "/") || strings.HasPrefix(path.Clean(name), "..") {
			return fmt.Errorf("%w: %s: bad entry %q", errNoSeed, whl, name)
		}
		if top, _, _ := strings.Cut(name, "/"); strings.HasSuffix(top, ".data") {
			return fmt.Errorf("%w: %s has a .data folder", errNoSeed, whl)
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		perm := os.FileMode(0o644)
		if f.Mode()&0o111 != 0 {
			perm = 0o755
		}
		if err := extract(f, dst, perm); err != nil {
			return fmt.Errorf("unpack %s: %w", whl, err)
		}
	}
	return nil
}

func extract(f *zip.File, dst string, perm os.FileMode) error {
	r, err := f.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// writeInstalled writes what pip writes when it installs the dist whose
// dist-info is di: INSTALLER, REQUESTED, the console scripts and RECORD
// (the wheel's RECORD plus the .pyc files, the scripts and these files).
func writeInstalled(cacheDir string, man treecache.Manifest, di, site, prefix, xy string) error {
	var record [][]string
	rb, err := os.ReadFile(filepath.Join(cacheDir, di, "RECORD"))
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(rb))
	for sc.Scan() {
		f := splitRecord(sc.Text())
		if len(f) == 0 || f[0] == "" || perEnvFile(f[0]) {
			continue
		}
		record = append(record, f)
	}
	// pyc files next to sources this dist lists.
	pycs := map[string][]string{} // "pkg/mod" -> "pkg/__pycache__/mod.cpython-311.pyc"
	for _, it := range man.Items {
		d, b := path.Split(it.Path)
		if strings.HasSuffix(d, "__pycache__/") && strings.HasSuffix(b, ".pyc") {
			stem, _, _ := strings.Cut(b, ".")
			k := strings.TrimSuffix(d, "__pycache__/") + stem
			pycs[k] = append(pycs[k], it.Path)
		}
	}
	var extra [][]string
	for _, f := range record {
		if strings.HasSuffix(f[0], ".py") {
			for _, p := range pycs[strings.TrimSuffix(f[0], ".py")] {
				extra = append(extra, []string{p, "", ""})
			}
		}
	}
	record = append(record, extra...)
	put := func(rel string, data []byte, perm os.FileMode) error {
		p := filepath.Join(site, filepath.FromSlash(rel))
		if err := os.WriteFile(p, data, perm); err != nil {
			return err
		}
		record = append(record, []string{filepath.ToSlash(rel), recordHash(data), strconv.Itoa(len(data))})
		return nil
	}
	if err := put(di+"/INSTALLER", []byte("pip\n"), 0o644); err != nil {
		return err
	}
	if err := put(di+"/REQUESTED", nil, 0o644); err != nil {
		return err
	}
	ep, err := os.ReadFile(filepath.Join(cacheDir, di, "entry_points.txt"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	bin := filepath.Join(prefix, "bin")
	relBin, err := filepath.Rel(site, bin)
	if err != nil {
		return err
	}
	for _, s := range consoleScripts(ep, xy) {
		body := scriptHead(filepath.Join(prefix, "bin", "python")) + scriptBody(s)
		p := filepath.Join(bin, s.name)
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			return err
		}
		record = append(record, []string{filepath.ToSlash(filepath.Join(relBin, s.name)), recordHash([]byte(body)), strconv.Itoa(len(body))})
	}
	sort.SliceStable(record, func(i, j int) bool { return record[i][0] < record[j][0] })
	record = append(record, []string{di + "/RECORD", "", ""})
	var b bytes.Buffer
	for _, f := range record {
		b.WriteString(joinRecord(f) + "\n")
	}
	return os.WriteFile(filepath.Join(site, di, "RECORD"), b.Bytes(), 0o644)
}

// splitRecord splits a RECORD line (CSV; paths with commas are quoted).
func splitRecord(line string) []string {
	if !strings.HasPrefix(line, `"`) {
		return strings.Split(line, ",")
	}
	end := strings.Index(line[1:], `"`)
	if end < 0 {
		return strings.Split(line, ",")
	}
	p := line[1 : 1+end]
	rest := strings.TrimPrefix(line[2+end:], ",")
	return append([]string{p}, strings.Split(rest, ",")...)
}

func joinRecord(f []string) string {
	p := f[0]
	if strings.ContainsAny(p, `,"`) {
		p = `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
	}
	return strings.Join(append([]string{p}, f[1:]...), ",")
}

func recordHash(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256=" + base64.RawURLEncoding.EncodeToString(s[:])
}

type script struct{ name, module, attr string }

var (
	pipScript  = regexp.MustCompile(`^pip(\d+(\.\d+)?)?$`)
	easyScript = regexp.MustCompile(`^easy_install(-\d+\.\d+)?$`)
)

// consoleScripts reads [console_scripts] of an entry_points.txt with pip's
// rule for pip and easy_install (pip's get_console_script_specs, as
// `ensurepip --default-pip` runs it): pip, pipX and pipX.Y of the target
// Python replace the versioned names the wheel was built with.
func consoleScripts(ep []byte, xy string) []script {
	var out []script
	in := false
	var pipSpec, easySpec *script
	sc := bufio.NewScanner(bytes.NewReader(ep))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			in = line == "[console_scripts]"
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		if !in || !ok || strings.HasPrefix(line, "#") {
			continue
		}
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		val, _, _ = strings.Cut(val, "[") // extras
		mod, attr, _ := strings.Cut(strings.TrimSpace(val), ":")
		s := script{name: name, module: strings.TrimSpace(mod), attr: strings.TrimSpace(attr)}
		switch {
		case pipScript.MatchString(name):
			if name == "pip" || pipSpec == nil {
				c := s
				pipSpec = &c
			}
		case easyScript.MatchString(name):
			if name == "easy_install" || easySpec == nil {
				c := s
				easySpec = &c
			}
		default:
			out = append(out, s)
		}
	}
	major, _, _ := strings.Cut(xy, ".")
	if pipSpec != nil {
		for _, n := range []string{"pip", "pip" + major, "pip" + xy} {
			c := *pipSpec
			c.name = n
			out = append(out, c)
		}
	}
	if easySpec != nil {
		for _, n := range []string{"easy_install", "easy_install-" + xy} {
			c := *easySpec
			c.name = n
			out = append(out, c)
		}
	}
	return out
}

// scriptHead is distlib's shebang for python: direct when it fits the
// kernel's limit and has no blanks, else the /bin/sh form.
func scriptHead(python string) string {
	if len(python)+2 <= 127 && !strings.ContainsAny(python, " \t") {
		return "#!" + python + "\n"
	}
	return "#!/bin/sh\n'''exec' " + `"` + python + `"` + ` "$0" "$@"` + "\n' '''\n"
}

// scriptBody is the rest of a console script, as pip writes it.
func scriptBody(s script) string {
	imp, call := s.attr, s.attr
	if i := strings.Index(s.attr, "."); i >= 0 {
		imp = s.attr[:i]
	}
	return "# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom " + s.module + " import " + imp + "\n" +
		"if __name__ == '__main__':\n" +
		"    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n" +
		"    sys.exit(" + call + "())\n"
}
