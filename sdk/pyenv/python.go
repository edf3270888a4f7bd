package pyenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/swcli/swcli/core/mode"
)

// Interpreter is a Python found on this machine.
type Interpreter struct {
	Path    string // what to run (sys.executable)
	Version string // "X.Y"
	Patch   string // "X.Y.Z"
	// ABI is the tag of compiled extensions it loads ("cp311", "cp313t").
	ABI string
	// Platform is sysconfig's platform ("linux-x86_64").
	Platform string
	// Files are the files that make it what it is: the real executable,
	// its shared libpython (when it has one) and its os.py. A ProbeCache
	// answer is used only while they are unchanged.
	Files []string
	// ID identifies this interpreter with these files (path, size,
	// mtime, inode of each): a cache keyed by it is never used for another
	// build at the same path. Empty when Files could not all be read.
	ID string
}

// ABITagPython is Python source (3.6 to 3.13) defining abi_tag(): the tag
// of compiled extensions the running interpreter loads ("cp311", "cp37m",
// "cp313t", "pp39"). It is the one statement of that rule: Probe uses it,
// and a mode's own scripts that report an environment's ABI put it first
// (the venv mode's inspect script does).
const ABITagPython = `import sys, sysconfig


def abi_tag():
    impl = sys.implementation.name
    ver = "%d%d" % sys.version_info[:2]
    if impl != "cpython":
        return impl[:2] + ver
    tag = "cp" + ver
    if sys.version_info < (3, 8) and sysconfig.get_config_var("WITH_PYMALLOC"):
        tag += "m"
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        tag += "t"
    return tag
`

// probeScript prints what Probe reads; it runs on Python 3.6 to 3.13.
const probeScript = ABITagPython + `import json, os
abi = abi_tag()
files = [os.path.realpath(sys.executable), os.path.realpath(os.__file__)]
if sysconfig.get_config_var("Py_ENABLE_SHARED"):
    lib = os.path.join(sysconfig.get_config_var("LIBDIR") or "", sysconfig.get_config_var("INSTSONAME") or "")
    if os.path.isfile(lib):
        files.append(os.path.realpath(lib))
print(json.dumps({"patch": "%d.%d.%d" % sys.version_info[:3], "executable": sys.executable,
    "abi": abi, "platform": sysconfig.get_platform(), "files": files}))
`

// Probe runs a candidate interpreter once and reads its version. pyenv shims
// of versions that are not selected fail here and are skipped.
func Probe(ctx context.Context, path string) (Interpreter, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := pythonCmd(ctx, path, "-c", probeScript).Output()
	if err != nil {
		return Interpreter{}, err
	}
	var p struct {
		Patch, Executable, ABI, Platform string
		Files                            []string
	}
	if err := json.Unmarshal(out, &p); err != nil || p.Patch == "" {
		return Interpreter{}, fmt.Errorf("unexpected output %q", out)
	}
	exe := p.Executable
	if exe == "" {
		exe = path
	}
	it := Interpreter{Path: exe, Version: MajorMinor(p.Patch), Patch: p.Patch, ABI: p.ABI, Platform: p.Platform, Files: p.Files}
	it.ID = fingerprint(append([]string{path, exe}, p.Files...))
	return it, nil
}

// pythonCmd runs a Python with BaseEnv.
func pythonCmd(ctx context.Context, path string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = BaseEnv()
	return cmd
}

// fingerprint hashes the paths and the size, mtime, inode and device of
// what each names (symlinks followed); "" when one cannot be read.
func fingerprint(paths []string) string {
	h := sha256.New()
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return ""
		}
		var ino, dev uint64
		if s, ok := st.Sys().(*syscall.Stat_t); ok {
			ino, dev = s.Ino, uint64(s.Dev)
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00%d\x00%d\n", p, st.Size(), st.ModTime().UnixNano(), ino, dev)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// MajorMinor is "X.Y" of "X.Y.Z".
func MajorMinor(v string) string {
	p := strings.SplitN(v, ".", 3)
	if len(p) < 2 {
		return v
	}
	return p[0] + "." + p[1]
}

// pyenvCandidates returns pyenv's interpreters for xy ("" for all), newest
// patch first.
func pyenvCandidates(xy string) []string {
	root := Root()
	if root == "" {
		return nil
	}
	pat := "*"
	if xy != "" {
		pat = xy + ".*"
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "versions", pat))
	sort.Slice(dirs, func(i, j int) bool { return VersionLess(filepath.Base(dirs[j]), filepath.Base(dirs[i])) })
	var out []string
	for _, d := range dirs {
		for _, n := range []string{"python3", "python"} {
			p := filepath.Join(d, "bin", n)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// Find finds the interpreter for py: py.Path if set (checked against
// py.Version), else python3.X / pythonX.Y on PATH (pyenv shims skipped),
// else pyenv's newest X.Y.*; with neither set, python3 on PATH.
func Find(ctx context.Context, py mode.Python) (Interpreter, error) {
	return find(ctx, py, Probe)
}

func find(ctx context.Context, py mode.Python, probe func(context.Context, string) (Interpreter, error)) (Interpreter, error) {
	if py.Path != "" {
		it, err := probe(ctx, py.Path)
		if err != nil {
			return Interpreter{}, &mode.Error{Code: mode.ErrNoTool, Message: fmt.Sprintf("python %s does not run: %v", py.Path, err)}
		}
		if py.Version != "" && it.Version != py.Version {
			return Interpreter{}, mode.Errorf(mode.ErrInvalid, "python %s is Python %s, not %s", py.Path, it.Patch, py.Version)
		}
		return it, nil
	}
	xy := py.Version
	if xy != "" && !ValidXY(xy) {
		return Interpreter{}, mode.Errorf(mode.ErrInvalid, "bad Python version %q: want major.minor like 3.9", xy)
	}
	var cands []string
	if xy == "" {
		cands = append(cands, "python3")
	} else {
		maj, _, _ := strings.Cut(xy, ".")
		cands = append(cands, "python"+xy)
		if maj == "3" {
			cands = append(cands, "python3") // only if its X.Y matches
		}
	}
	for _, n := range cands {
		p, err := exec.LookPath(n)
		if err != nil || (xy != "" && IsShim(p)) {
			continue
		}
		if it, err := probe(ctx, p); err == nil && (xy == "" || it.Version == xy) {
			return it, nil
		}
	}
	if xy != "" {
		for _, p := range pyenvCandidates(xy) {
			if it, err := probe(ctx, p); err == nil && it.Version == xy {
				return it, nil
			}
		}
	}
	want := "Python 3"
	if xy != "" {
		want = "Python " + xy
	}
	return Interpreter{}, mode.Errorf(mode.ErrNoTool, "no %s found; found: %s; install %s or pass --python /path/to/python",
		want, Describe(List(ctx)), want)
}

// IsShim tells a pyenv shim (a script that runs `pyenv exec`, slow, and
// failing for versions that are not selected). The versions behind shims are
// looked up in pyenv's versions folder directly.
func IsShim(p string) bool {
	dir := filepath.Dir(p)
	if filepath.Base(dir) != "shims" {
		return false
	}
	root := Root()
	return dir == filepath.Join(root, "shims") || strings.HasPrefix(dir, root+string(filepath.Separator)) ||
		strings.Contains(dir, string(filepath.Separator)+".pyenv"+string(filepath.Separator))
}

// ValidXY reports whether s is a "major.minor" version like 3.9.
func ValidXY(s string) bool {
	a, b, ok := strings.Cut(s, ".")
	if !ok {
		return false
	}
	_, e1 := strconv.Atoi(a)
	_, e2 := strconv.Atoi(b)
	return e1 == nil && e2 == nil
}

// List lists the interpreters this machine has, one per X.Y, for
// error messages.
func List(ctx context.Context) []Interpreter {
	var cands []string
	cands = append(cands, pyenvCandidates("")...)
	for minor := 6; minor <= 20; minor++ {
		if p, err := exec.LookPath(fmt.Sprintf("python3.%d", minor)); err == nil && !IsShim(p) {
			cands = append(cands, p)
		}
	}
	if p, err := exec.LookPath("python3"); err == nil && !IsShim(p) {
		cands = append(cands, p)
	}
	found := make([]*Interpreter, len(cands))
	var wg sync.WaitGroup
	for i, c := range cands {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if it, err := Probe(ctx, c); err == nil {
				found[i] = &it
			}
		}()
	}
	wg.Wait()
	best := map[string]Interpreter{}
	for _, it := range found {
		if it == nil {
			continue
		}
		if b, ok := best[it.Version]; !ok || VersionLess(b.Patch, it.Patch) {
			best[it.Version] = *it
		}
	}
	var out []Interpreter
	for _, it := range best {
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool { return VersionLess(out[i].Version, out[j].Version) })
	return out
}

// Describe lists interpreters for an error message: "3.9 (/usr/bin/python3.9), ...".
func Describe(its []Interpreter) string {
	if len(its) == 0 {
		return "none"
	}
	var s []string
	for _, it := range its {
		s = append(s, fmt.Sprintf("%s (%s)", it.Version, it.Path))
	}
	return strings.Join(s, ", ")
}
