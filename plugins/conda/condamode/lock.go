package condamode

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/swcli/swcli/core/mode"
)

// Lock file names.
const (
	CondaLockFile = "conda-lock.txt"        // conda's explicit spec
	PipLockFile   = "requirements-lock.txt" // the pip-installed part
)

// Lock reports the conda packages (the explicit spec, made from conda-meta
// as `conda list --explicit --md5` makes it) and the pip-installed
// distributions with their sources, without running conda:
//
//	PREFIX/conda-meta/*.json                   (url, md5, sha256, depends)
//	PREFIX/bin/python -I -c <inspect script>   (dist-info, INSTALLER, direct_url.json)
func (m *Mode) Lock(ctx context.Context, req mode.LockRequest, ev mode.Events) (mode.Lock, error) {
	env := req.Env
	if err := checkEnv(env); err != nil {
		return mode.Lock{}, err
	}
	if req.Check {
		if err := pipCheck(ctx, env.Prefix); err != nil {
			return mode.Lock{}, err
		}
	}
	recs, err := condaRecords(env.Prefix)
	if err != nil {
		return mode.Lock{}, err
	}
	// The explicit spec is what `conda list --explicit --md5` prints, read
	// from the same conda-meta records conda reads: no conda is needed, so
	// a restored environment is verified on a machine without one.
	ev.Emit(mode.Event{Stage: "lock", Current: 0, Total: 2, Message: "conda packages"})
	explicit, urls := explicitSpec(recs)
	if len(urls) == 0 {
		return mode.Lock{}, mode.Errorf(mode.ErrInvalid, "%s: no conda-meta record has a package URL, so there is no explicit spec to lock", env.Prefix)
	}
	var lock mode.Lock
	byURL := map[string]condaRecord{}
	for _, r := range recs {
		byURL[r.URL] = r
		if r.Name == "python" {
			lock.Python = r.Version
		}
	}
	for _, u := range urls {
		plain, md5, _ := strings.Cut(u, "#")
		r, ok := byURL[plain]
		if !ok {
			r = recordFromURL(plain)
		}
		if md5 == "" {
			md5 = r.MD5
		}
		p := mode.LockedPackage{Name: r.Name, Version: r.Version, Installer: mode.InstallerConda, Source: plain}
		if md5 != "" {
			p.Hashes = append(p.Hashes, "md5:"+md5)
		}
		if r.SHA256 != "" {
			p.Hashes = append(p.Hashes, "sha256:"+r.SHA256)
		}
		lock.Packages = append(lock.Packages, p)
	}
	sort.SliceStable(lock.Packages, func(i, j int) bool { return lock.Packages[i].Name < lock.Packages[j].Name })

	ev.Emit(mode.Event{Stage: "lock", Current: 1, Total: 2, Message: "pip packages"})
	info, err := inspect(ctx, env.Prefix)
	if err != nil {
		return mode.Lock{}, err
	}
	if lock.Python == "" {
		lock.Python = info.Python
	}
	var pipPkgs []mode.LockedPackage
	for _, d := range pipDists(info, recs) {
		p := mode.LockedPackage{Name: d.Name, Version: d.Version, Installer: mode.InstallerPip}
		p.Source, p.Hashes, p.Editable = pipSource(env, d.DirectURL, ev)
		if d.DirectURL == nil && d.Source != nil {
			p.Source, p.Hashes = d.Source.Source, []string{"sha256:" + d.Source.SHA256}
		}
		pipPkgs = append(pipPkgs, p)
	}
	lock.Packages = append(lock.Packages, pipPkgs...)
	lock.Files = []mode.LockFile{
		{Name: CondaLockFile, Content: []byte(explicit)},
		{Name: PipLockFile, Content: []byte(pipLockText(pipPkgs))},
	}
	ev.Emit(mode.Event{Stage: "lock", Current: 2, Total: 2, Message: "done"})
	return lock, nil
}

// normalizeExplicit keeps the platform comment, @EXPLICIT and the URLs of an
// explicit spec (dropping lines that name the machine or the conda version, so
// the lock is the same wherever it is made) and returns the URLs.
func normalizeExplicit(out string) (string, []string) {
	var b strings.Builder
	var urls []string
	b.WriteString("# This file may be used to create an environment using:\n# $ conda create --name <env> --file <this file>\n")
	sc := bufio.NewScanner(strings.NewReader(out))
	seen := false
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(l, "# platform:"):
			b.WriteString(l + "\n")
		case l == "@EXPLICIT":
			seen = true
			b.WriteString(l + "\n")
		case seen && l != "" && !strings.HasPrefix(l, "#"):
			urls = append(urls, l)
			b.WriteString(l + "\n")
		}
	}
	return b.String(), urls
}

// recordFromURL splits ".../NAME-VERSION-BUILD.conda" when no record matches.
func recordFromURL(u string) condaRecord {
	fn := u[strings.LastIndex(u, "/")+1:]
	fn = strings.TrimSuffix(strings.TrimSuffix(fn, ".conda"), ".tar.bz2")
	parts := strings.Split(fn, "-")
	if len(parts) < 3 {
		return condaRecord{Name: fn}
	}
	n := len(parts)
	return condaRecord{Name: strings.Join(parts[:n-2], "-"), Version: parts[n-2], Build: parts[n-1]}
}

// pipSource turns direct_url.json (PEP 610) into a LockedPackage source:
// "git+URL@commit", a workdir-relative local wheel or folder, or a URL.
func pipSource(env mode.Env, du map[string]any, ev mode.Events) (src string, hashes []string, editable bool) {
	if du == nil {
		return "", nil, false
	}
	raw, _ := du["url"].(string)
	if vcs, ok := du["vcs_info"].(map[string]any); ok {
		kind, _ := vcs["vcs"].(string)
		commit, _ := vcs["commit_id"].(string)
		src = kind + "+" + raw
		if commit != "" {
			src += "@" + commit
		}
		if sub, _ := du["subdirectory"].(string); sub != "" {
			src += "#subdirectory=" + sub
		}
		return src, nil, false
	}
	if ai, ok := du["archive_info"].(map[string]any); ok {
		if hs, ok := ai["hashes"].(map[string]any); ok {
			keys := make([]string, 0, len(hs))
			for k := range hs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if v, _ := hs[k].(string); v != "" {
					hashes = append(hashes, k+":"+v)
				}
			}
		} else if h, _ := ai["hash"].(string); h != "" {
			hashes = append(hashes, strings.Replace(h, "=", ":", 1))
		}
	}
	if di, ok := du["dir_info"].(map[string]any); ok {
		editable, _ = di["editable"].(bool)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "file" {
		return raw, hashes, editable
	}
	local := u.Path
	if env.Workdir != "" {
		if rel, err := filepath.Rel(env.Workdir, local); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel), hashes, editable
		}
		if wd, err := filepath.EvalSymlinks(env.Workdir); err == nil {
			if rel, err := filepath.Rel(wd, local); err == nil && !strings.HasPrefix(rel, "..") {
				return filepath.ToSlash(rel), hashes, editable
			}
		}
	}
	ev.Logf("warn", "%s is outside the workdir %s; the lock keeps its absolute path", local, env.Workdir)
	return raw, hashes, editable
}

// pipLockText writes the pip part as a requirements file pip reads with the
// workdir as current folder.
func pipLockText(pkgs []mode.LockedPackage) string {
	var b strings.Builder
	b.WriteString("# The pip-installed part of a conda environment; conda's part is in " + CondaLockFile + ".\n")
	b.WriteString("# Install with: pip install --no-deps -r " + PipLockFile + " (from the workdir)\n")
	for _, p := range pkgs {
		line := requirementLine(p)
		if len(p.Hashes) > 0 {
			line += "  # " + strings.Join(p.Hashes, " ")
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

func isURL(s string) bool { return strings.Contains(s, "://") }

func requirementLine(p mode.LockedPackage) string {
	switch {
	case p.Source == "":
		return p.Name + "==" + p.Version
	case p.Editable:
		if isURL(p.Source) {
			return "-e " + p.Source
		}
		return "-e ./" + p.Source
	case isURL(p.Source):
		return p.Name + " @ " + p.Source
	default:
		return "./" + p.Source
	}
}

// Restore makes an environment holding exactly the lock:
//
//	conda create -y -p PREFIX --json --file conda-lock.txt
//	PREFIX/bin/python -m pip install --no-deps [--find-links WHEELDIR]... <pip part>
func (m *Mode) Restore(ctx context.Context, req mode.RestoreRequest, ev mode.Events) error {
	env := req.Env
	if err := checkEnv(env); err != nil {
		return err
	}
	explicit := ""
	for _, f := range req.Lock.Files {
		if f.Name == CondaLockFile {
			explicit = string(f.Content)
		}
	}
	if explicit == "" {
		var b strings.Builder
		b.WriteString("@EXPLICIT\n")
		for _, p := range req.Lock.Packages {
			if p.Installer != mode.InstallerConda || p.Source == "" {
				continue
			}
			line := p.Source
			for _, h := range p.Hashes {
				if strings.HasPrefix(h, "md5:") {
					line += "#" + strings.TrimPrefix(h, "md5:")
				}
			}
			b.WriteString(line + "\n")
		}
		explicit = b.String()
	}
	if _, urls := normalizeExplicit(explicit); len(urls) == 0 {
		return mode.Errorf(mode.ErrInvalid, "the lock has no conda packages (no %s and no conda package URLs)", CondaLockFile)
	}
	n, err := m.startNewEnv(ctx, env)
	if err != nil {
		return err
	}
	defer n.done()
	tmp, err := os.CreateTemp("", "swcli-conda-lock-*.txt")
	if err != nil {
		return mode.Errorf(mode.ErrInternal, "%v", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(explicit); err != nil {
		tmp.Close()
		return mode.Errorf(mode.ErrInternal, "%v", err)
	}
	tmp.Close()
	ev.Emit(mode.Event{Stage: "restore", Current: 0, Total: 2, Message: "conda packages"})
	res, err := n.create(ctx, ev, env, "restore", n.tool.createExplicitArgs(env.Prefix, tmp.Name()))
	if err != nil {
		return toolError(n.tool.name+" create --file "+CondaLockFile+" failed", res, err)
	}
	ev.Emit(mode.Event{Stage: "restore", Current: 1, Total: 2, Message: "pip packages"})
	var reqs []string
	for _, p := range req.Lock.Packages {
		if p.Installer != mode.InstallerPip {
			continue
		}
		reqs = append(reqs, restoreArgs(env, p, req.WheelDirs)...)
	}
	if len(reqs) > 0 {
		// The bundled wheel folders come first, then the configured ones.
		pipEnv := env
		pipEnv.Pip.FindLinks = append(append([]string(nil), req.WheelDirs...), env.Pip.FindLinks...)
		if err := pipInstall(ctx, pipEnv, append([]string{"--no-deps"}, reqs...), ev, "restore"); err != nil {
			n.cleanup()
			return err
		}
	}
	ev.Emit(mode.Event{Stage: "restore", Current: 2, Total: 2, Message: "done"})
	return nil
}

// restoreArgs are pip's arguments for one locked pip package.
func restoreArgs(env mode.Env, p mode.LockedPackage, wheelDirs []string) []string {
	switch {
	case p.Source == "":
		return []string{p.Name + "==" + p.Version}
	case p.Editable && !isURL(p.Source):
		return []string{"-e", inWorkdir(env, p.Source)}
	case p.Editable:
		return []string{"-e", p.Source}
	case isURL(p.Source):
		return []string{p.Name + " @ " + p.Source}
	}
	local := inWorkdir(env, p.Source)
	if _, err := os.Stat(local); err == nil {
		return []string{local}
	}
	base := filepath.Base(p.Source)
	for _, d := range wheelDirs {
		if _, err := os.Stat(filepath.Join(d, base)); err == nil {
			return []string{filepath.Join(d, base)}
		}
	}
	// Let pip find NAME==VERSION in the wheel folders or the index.
	return []string{fmt.Sprintf("%s==%s", p.Name, p.Version)}
}

// pipCheck runs `python -m pip check` in the environment, when it has pip:
// the pip-installed part of a conda environment must be consistent too.
// Conflicts fail with ErrConflict naming the first one.
func pipCheck(ctx context.Context, prefix string) error {
	py := filepath.Join(prefix, "bin", "python")
	if err := exec.CommandContext(ctx, py, "-I", "-c", "import pip").Run(); err != nil {
		return ctx.Err() // no pip: nothing pip could check
	}
	cmd := exec.CommandContext(ctx, py, "-m", "pip", "check", "--disable-pip-version-check")
	out, err := cmd.CombinedOutput()
	if err == nil || ctx.Err() != nil {
		return ctx.Err()
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "WARNING:") && !strings.HasPrefix(l, "[notice]") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return mode.Errorf(mode.ErrConflict, "pip check failed: %v", err)
	}
	msg := "pip check: " + lines[0]
	if len(lines) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(lines)-1)
	}
	return &mode.Error{Code: mode.ErrConflict, Message: msg, Detail: strings.Join(lines, "\n")}
}
