package venvmode

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/pyenv"
)

// inspectScript prints envInfo as JSON; it runs in the environment's own
// interpreter and works on Python 3.6 to 3.13.
//
//go:embed inspect_env.py
var inspectEnvPy string

// inspectScript is inspect_env.py after the one ABI rule (sdk/pyenv).
var inspectScript = pyenv.ABITagPython + inspectEnvPy

// LockFileName is the name of the lock file in pip's format.
const LockFileName = "requirements-lock.txt"

type envInfo struct {
	Python     string     `json:"python"`
	Platform   string     `json:"platform"`
	ABI        string     `json:"abi"`
	Prefix     string     `json:"prefix"`
	BasePrefix string     `json:"base_prefix"`
	SiteDirs   []string   `json:"site_dirs"`
	Dists      []distInfo `json:"dists"`
}

type distInfo struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Location string `json:"location"`
	Editable bool   `json:"editable"`
	// EditableDir is the project folder of a legacy (.egg-link) editable.
	EditableDir string     `json:"editable_dir"`
	DirectURL   *directURL `json:"direct_url"`
}

// directURL is PEP 610's direct_url.json.
type directURL struct {
	URL     string `json:"url"`
	VCSInfo *struct {
		VCS               string `json:"vcs"`
		CommitID          string `json:"commit_id"`
		RequestedRevision string `json:"requested_revision"`
	} `json:"vcs_info"`
	ArchiveInfo *struct {
		Hash   string            `json:"hash"`
		Hashes map[string]string `json:"hashes"`
	} `json:"archive_info"`
	DirInfo *struct {
		Editable bool `json:"editable"`
	} `json:"dir_info"`
}

// inspect runs inspectScript in the environment at prefix.
func (m *Mode) inspect(ctx context.Context, prefix string) (*envInfo, error) {
	py, err := envPython(prefix)
	if err != nil {
		return nil, err
	}
	res, err := m.run(ctx, command{
		name: py,
		args: []string{"-I", "-c", inspectScript},
		dir:  prefix,
		env:  activatedEnv(prefix),
		what: "inspect " + prefix,
	}, nil, false)
	if err != nil {
		return nil, err
	}
	var info envInfo
	if err := json.Unmarshal(res.stdout.Bytes(), &info); err != nil {
		return nil, mode.Errorf(mode.ErrInternal, "inspect %s: bad output: %v", prefix, err)
	}
	return &info, nil
}

// inspectFiles is inspect for Files. Without IncludeEditable, Files needs
// no list of distributions (it reads the dist-info folders itself), only
// the site-packages folders and what the interpreter says about itself
// (version, platform, ABI): a venv's purelib and platlib are
// PREFIX/lib[64]/pythonX.Y/site-packages, and the interpreter's answers are
// in the probe cache, so no Python starts (but the first time an
// interpreter is probed). The inspect script runs when editable installs
// must be found, or the prefix is not laid out so (several site-packages
// folders, or one that is not the interpreter's version).
func (m *Mode) inspectFiles(ctx context.Context, env mode.Env, prefix string, includeEditable bool) (*envInfo, error) {
	if !includeEditable {
		if info, ok := venvLayout(ctx, env, prefix); ok {
			return info, nil
		}
	}
	return m.inspect(ctx, prefix)
}

// venvLayout is what inspectFiles reads without starting Python.
func venvLayout(ctx context.Context, env mode.Env, prefix string) (*envInfo, bool) {
	var sites []string
	seen := map[string]bool{}
	for _, lib := range []string{"lib", "lib64"} {
		found, _ := filepath.Glob(filepath.Join(prefix, lib, "python*", "site-packages"))
		for _, s := range found {
			real, err := filepath.EvalSymlinks(s)
			if err != nil {
				return nil, false
			}
			if !seen[real] {
				seen[real] = true
				sites = append(sites, s)
			}
		}
	}
	if len(sites) != 1 {
		return nil, false
	}
	exe, err := venvPython(prefix)
	if err != nil {
		return nil, false
	}
	it, err := probes(env).Probe(ctx, exe)
	if err != nil || "python"+it.Version != filepath.Base(filepath.Dir(sites[0])) {
		return nil, false
	}
	return &envInfo{Python: it.Patch, Platform: it.Platform, ABI: it.ABI, Prefix: prefix, SiteDirs: sites}, true
}

// venvPython is the interpreter a venv's bin/python runs, named as the
// venv names it: links are followed while they stay in the venv (python
// -> python3 -> /usr/bin/python3), up to the first that leaves it, so the
// path is the one the venv was made with, whose probe is cached already,
// not where the interpreter's own links end (python3 -> python3.11),
// which would be probed again. A bin/python that is no link (a venv made
// with --copies) is the interpreter itself.
func venvPython(prefix string) (string, error) {
	prefix = filepath.Clean(prefix)
	start := filepath.Join(prefix, "bin", "python")
	p := start
	for range 16 {
		t, err := os.Readlink(p)
		if err != nil {
			if _, serr := os.Lstat(p); serr == nil {
				return p, nil // a copy, not a link
			}
			return "", err
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(p), t)
		}
		if p = filepath.Clean(t); !strings.HasPrefix(p, prefix+string(filepath.Separator)) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: too many links", start)
}

// Lock reports every distribution installed in the environment (not in the
// base interpreter) and a requirements-lock.txt.
func (m *Mode) Lock(ctx context.Context, req mode.LockRequest, ev mode.Events) (mode.Lock, error) {
	ev.Emit(mode.Event{Stage: "lock", Current: 0, Total: 1})
	if req.Check {
		if err := m.pipCheck(ctx, req.Env); err != nil {
			return mode.Lock{}, err
		}
	}
	info, err := m.inspectLock(ctx, req.Env)
	if err != nil {
		return mode.Lock{}, err
	}
	lock := mode.Lock{Python: info.Python, Packages: []mode.LockedPackage{}}
	for _, d := range info.Dists {
		lock.Packages = append(lock.Packages, lockedPackage(req.Env, d))
	}
	sort.Slice(lock.Packages, func(i, j int) bool { return lock.Packages[i].Name < lock.Packages[j].Name })
	lock.Files = []mode.LockFile{{Name: LockFileName, Content: requirementsLock(info, lock.Packages)}}
	ev.Emit(mode.Event{Stage: "lock", Current: 1, Total: 1})
	return lock, nil
}

func lockedPackage(env mode.Env, d distInfo) mode.LockedPackage {
	p := mode.LockedPackage{Name: d.Name, Version: d.Version, Installer: mode.InstallerPip, Editable: d.Editable}
	u := d.DirectURL
	if u == nil {
		if d.Editable && d.EditableDir != "" {
			p.Source = sourceURL(env, (&url.URL{Scheme: "file", Path: d.EditableDir}).String())
		}
		return p
	}
	switch {
	case u.VCSInfo != nil:
		vcs := u.VCSInfo.VCS
		if vcs == "" {
			vcs = "git"
		}
		src := u.URL
		if !strings.HasPrefix(src, vcs+"+") {
			src = vcs + "+" + src
		}
		if u.VCSInfo.CommitID != "" {
			src += "@" + u.VCSInfo.CommitID
		}
		p.Source = src
	default:
		p.Source = sourceURL(env, u.URL)
	}
	if a := u.ArchiveInfo; a != nil {
		var algs []string
		for alg := range a.Hashes {
			algs = append(algs, alg)
		}
		sort.Strings(algs)
		for _, alg := range algs {
			p.Hashes = append(p.Hashes, alg+":"+a.Hashes[alg])
		}
		if len(p.Hashes) == 0 && a.Hash != "" {
			if alg, h, ok := strings.Cut(a.Hash, "="); ok {
				p.Hashes = append(p.Hashes, alg+":"+h)
			}
		}
	}
	return p
}

// sourceURL turns a file:// URL under the workdir into a workdir-relative
// slash path; other URLs stay as they are.
func sourceURL(env mode.Env, raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "file" || env.Workdir == "" {
		return raw
	}
	if rel, ok := relUnder(env.Workdir, u.Path); ok {
		return rel
	}
	return raw
}

// relUnder returns p relative to root (slash-separated) if p is inside root,
// comparing both the paths as given and with symlinks resolved.
func relUnder(root, p string) (string, bool) {
	try := func(root, p string) (string, bool) {
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return "", false
		}
		return filepath.ToSlash(rel), true
	}
	if r, ok := try(filepath.Clean(root), filepath.Clean(p)); ok {
		return r, true
	}
	rr, err1 := filepath.EvalSymlinks(root)
	pp, err2 := filepath.EvalSymlinks(p)
	if err1 == nil && err2 == nil {
		return try(rr, pp)
	}
	return "", false
}

// isURL tells a URL source from a workdir-relative path.
func isURL(s string) bool { return strings.Contains(s, "://") }

// isVCS tells a VCS source ("git+https://...").
func isVCS(s string) bool {
	for _, v := range []string{"git+", "hg+", "svn+", "bzr+"} {
		if strings.HasPrefix(s, v) {
			return true
		}
	}
	return false
}

// requirementsLock renders the lock in pip's requirements format, sorted and
// without timestamps. Hashes become --hash options only when every line can
// carry one (pip turns on hash-checking mode for the whole file as soon as
// one line has a hash); otherwise they are kept as comments.
func requirementsLock(info *envInfo, pkgs []mode.LockedPackage) []byte {
	allHashed := len(pkgs) > 0
	for _, p := range pkgs {
		if len(p.Hashes) == 0 || p.Editable || isVCS(p.Source) {
			allHashed = false
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s: every distribution of the environment, pinned.\n", LockFileName)
	fmt.Fprintf(&b, "# Written by swcli's venv mode for Python %s (%s, %s).\n", info.Python, info.Platform, info.ABI)
	b.WriteString("# Install with: python -m pip install --no-deps -r " + LockFileName + "\n")
	for _, p := range pkgs {
		b.WriteString(requirementLine(p))
		if len(p.Hashes) > 0 && !p.Editable && !isVCS(p.Source) {
			if allHashed {
				for _, h := range p.Hashes {
					b.WriteString(" --hash=" + h)
				}
			} else {
				b.WriteString("  # " + strings.Join(p.Hashes, " "))
			}
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

// requirementLine is the pip requirement for one locked package; local paths
// stay relative (to the workdir).
func requirementLine(p mode.LockedPackage) string {
	switch {
	case p.Source == "":
		return p.Name + "==" + p.Version
	case p.Editable:
		if isURL(p.Source) && !isVCS(p.Source) {
			return "-e " + p.Source
		}
		if isVCS(p.Source) {
			return "-e " + p.Source + "#egg=" + p.Name
		}
		return "-e " + localPath(p.Source)
	case isURL(p.Source) || isVCS(p.Source):
		return p.Name + " @ " + p.Source
	default:
		return localPath(p.Source)
	}
}

func localPath(s string) string {
	if s != "." && !strings.Contains(s, "/") {
		return "./" + s
	}
	return s
}

// pipCheck runs `python -m pip check` in the environment, unless the
// memo in env.StateDir says this very environment passed it before
// (checkmemo.go); a clean check is remembered there. Broken requirements
// fail with ErrConflict naming the first one; an environment without pip (a
// bare one) has nothing pip could check and passes.
func (m *Mode) pipCheck(ctx context.Context, env mode.Env) error {
	stamp := ""
	if env.StateDir != "" {
		stamp = checkStamp(env.Prefix)
	}
	if checkedBefore(env.StateDir, stamp) {
		m.log.Debug("pip check skipped: the environment is as it was when pip check last passed", "prefix", env.Prefix)
		return nil
	}
	if err := m.runPipCheck(ctx, env.Prefix); err != nil {
		return err
	}
	// Remembered only if nothing changed while pip looked.
	if stamp != "" && checkStamp(env.Prefix) == stamp {
		rememberCheck(env.StateDir, stamp)
	}
	return nil
}

// runPipCheck runs `python -m pip check` in the environment at prefix (see
// pipCheck).
func (m *Mode) runPipCheck(ctx context.Context, prefix string) error {
	m.pipChecks.Add(1)
	py, err := envPython(prefix)
	if err != nil {
		return err
	}
	env := append(activatedEnv(prefix), "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1", "PYTHONWARNINGS=ignore")
	// Is there a pip to run? Its package in site-packages says so without
	// starting Python; else ask Python (a pip from elsewhere on its path).
	if !hasPip(prefix) {
		if _, err := m.run(ctx, command{name: py, args: []string{"-I", "-c", "import pip"}, dir: prefix, env: env, what: "find pip"}, nil, false); err != nil {
			if ctx.Err() != nil {
				return err
			}
			return nil
		}
	}
	res, err := m.run(ctx, command{name: py, args: []string{"-m", "pip", "check"}, dir: prefix, env: env, what: "pip check"}, nil, false)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil || res == nil {
		return err
	}
	var lines []string
	for _, l := range strings.Split(res.stdout.String()+"\n"+strings.Join(res.tail, "\n"), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "WARNING:") || strings.HasPrefix(l, "[notice]") {
			continue
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return err
	}
	msg := "pip check: " + lines[0]
	if len(lines) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(lines)-1)
	}
	return &mode.Error{Code: mode.ErrConflict, Message: msg, Detail: strings.Join(lines, "\n")}
}

// hasPip says whether a site-packages folder of the environment at prefix
// holds pip's package.
func hasPip(prefix string) bool {
	found, _ := filepath.Glob(filepath.Join(prefix, "lib", "python*", "site-packages", "pip", "__init__.py"))
	return len(found) > 0
}
