package venvmode

import (
	"bytes"
	"context"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/pyenv"
)

// Trampoline is the head Relocate gives every console script of the
// environment: /bin/sh runs the python beside the script's real location
// (symlinks resolved), and Python reads the next two lines as a string. It is
// the form distlib and pip use for shebangs that are too long, with the
// interpreter found at run time, so the script runs from any directory,
// without activation, and after the environment is moved again.
const Trampoline = "#!/bin/sh\n" +
	`'''exec' "$(dirname -- "$(realpath -- "$0")")/python" "$0" "$@"` + "\n" +
	"' '''\n"

var pythonName = regexp.MustCompile(`^python(\d+(\.\d+)?)?$`)

// Relocate fixes an environment unpacked at Env.Prefix over a fresh venv that
// Create made there:
//
//   - in TextFiles, PrefixPlaceholder and WorkdirPlaceholder (and OldPrefix,
//     when given) become Env.Prefix and Env.Workdir;
//   - every script in bin/ whose shebang runs a python of this environment
//     (by the new prefix, the placeholder or OldPrefix, directly or through
//     pip's /bin/sh form for long paths) gets the Trampoline head;
//   - bin/activate computes VIRTUAL_ENV from its own location when sourced
//     by bash or zsh (${BASH_SOURCE:-$0}); POSIX sh gives a sourced script no
//     way to know its path, so there it falls back to the absolute Env.Prefix
//     written now. activate.fish and activate.csh keep absolute paths
//     (correct at Env.Prefix, not after a later move);
//   - in BinaryFiles, OldPrefix becomes Env.Prefix padded with NUL bytes
//     (ErrPrefixTooLong when the new prefix is longer).
//
// Relocate is idempotent.
func (m *Mode) Relocate(ctx context.Context, req mode.RelocateRequest, ev mode.Events) error {
	env := req.Env
	prefix := filepath.Clean(env.Prefix)
	if !filepath.IsAbs(prefix) {
		return mode.Errorf(mode.ErrInvalid, "prefix %q must be an absolute path", env.Prefix)
	}
	if len(req.BinaryFiles) > 0 {
		if req.OldPrefix == "" {
			return mode.Errorf(mode.ErrInvalid, "relocate: binary files given without the old prefix")
		}
		if len(prefix) > len(req.OldPrefix) {
			return &mode.Error{Code: mode.ErrPrefixTooLong, Message: "the new prefix " + prefix + " is longer than the old prefix " + req.OldPrefix + " that binary files embed; choose a prefix of at most " + strconv.Itoa(len(req.OldPrefix)) + " characters, or restore with --from-lock, which installs the same lock into this folder"}
		}
	}
	total := int64(len(req.TextFiles) + len(req.BinaryFiles) + 1)
	var done int64
	step := func(msg string) {
		done++
		ev.Emit(mode.Event{Stage: "relocate", Current: done, Total: total, Message: msg})
	}

	repl := []string{mode.PrefixPlaceholder, prefix}
	if env.Workdir != "" {
		repl = append(repl, mode.WorkdirPlaceholder, filepath.Clean(env.Workdir))
	}
	// OldPrefix is replaced too, unless the new prefix contains it (then a
	// second Relocate would replace it again inside the new one).
	replaceOld := req.OldPrefix != "" && !strings.Contains(prefix, filepath.Clean(req.OldPrefix))
	if replaceOld {
		repl = append(repl, filepath.Clean(req.OldPrefix), prefix)
	}
	textRepl := strings.NewReplacer(repl...)
	for _, rel := range req.TextFiles {
		if err := ctx.Err(); err != nil {
			return mode.Errorf(mode.ErrInternal, "relocate: %v", err)
		}
		p, err := inPrefix(prefix, rel)
		if err != nil {
			return err
		}
		if err := rewriteFile(p, func(b []byte) []byte { return []byte(textRepl.Replace(string(b))) }); err != nil {
			return mode.Errorf(mode.ErrInternal, "relocate %s: %v", rel, err)
		}
		step(rel)
	}
	for _, rel := range req.BinaryFiles {
		p, err := inPrefix(prefix, rel)
		if err != nil {
			return err
		}
		if err := rewriteFile(p, func(b []byte) []byte { return replacePadded(b, []byte(filepath.Clean(req.OldPrefix)), []byte(prefix)) }); err != nil {
			return mode.Errorf(mode.ErrInternal, "relocate %s: %v", rel, err)
		}
		step(rel)
	}

	envPrefixes := []string{prefix, mode.PrefixPlaceholder}
	if req.OldPrefix != "" {
		envPrefixes = append(envPrefixes, filepath.Clean(req.OldPrefix))
	}
	oldRepl := strings.NewReplacer(mode.PrefixPlaceholder, prefix)
	if replaceOld {
		oldRepl = strings.NewReplacer(mode.PrefixPlaceholder, prefix, filepath.Clean(req.OldPrefix), prefix)
	}
	bin := filepath.Join(prefix, "bin")
	ents, err := os.ReadDir(bin)
	if err != nil {
		return mode.Errorf(mode.ErrInvalid, "relocate: %s is not a venv: %v", prefix, err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(bin, e.Name())
		switch {
		case e.Name() == "activate" || strings.HasPrefix(e.Name(), "activate.") || e.Name() == "Activate.ps1":
			if err := rewriteFile(p, func(b []byte) []byte {
				if e.Name() == "activate" {
					b = relocatableActivate(b, prefix, envPrefixes)
				}
				return []byte(oldRepl.Replace(string(b)))
			}); err != nil {
				return mode.Errorf(mode.ErrInternal, "relocate bin/%s: %v", e.Name(), err)
			}
		case pythonName.MatchString(e.Name()):
			// venv's own interpreter: never touch it.
		default:
			head, err := readHead(p, 2)
			if err != nil || !bytes.HasPrefix(head, []byte("#!")) {
				continue
			}
			if err := rewriteFile(p, func(b []byte) []byte { return trampoline(b, envPrefixes) }); err != nil {
				return mode.Errorf(mode.ErrInternal, "relocate bin/%s: %v", e.Name(), err)
			}
		}
	}
	step("bin/")
	return nil
}

// inPrefix joins a prefix-relative slash path, refusing escapes.
func inPrefix(prefix, rel string) (string, error) {
	c := path.Clean("/" + strings.ReplaceAll(rel, "\\", "/"))
	if rel == "" || path.IsAbs(rel) || c == "/" || strings.Contains("/"+rel+"/", "/../") {
		return "", mode.Errorf(mode.ErrInvalid, "relocate: bad path %q: want a path relative to the prefix", rel)
	}
	return filepath.Join(prefix, filepath.FromSlash(c[1:])), nil
}

// readHead reads the first n bytes of a file.
func readHead(p string, n int) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	k, err := io.ReadFull(f, b)
	if err != nil && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	return b[:k], nil
}

// rewriteFile applies fn to a regular file's content and writes it back in
// place (keeping its mode) when it changed.
func rewriteFile(p string, fn func([]byte) []byte) error {
	st, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	nb := fn(b)
	if bytes.Equal(b, nb) {
		return nil
	}
	tmp := p + ".swcli-relocate"
	if err := os.WriteFile(tmp, nb, st.Mode().Perm()); err != nil {
		return err
	}
	if err := os.Chmod(tmp, st.Mode().Perm()); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, p)
}

// isEnvPython tells whether interp is bin/python* under one of prefixes.
func isEnvPython(interp string, prefixes []string) bool {
	dir, base := path.Split(interp)
	if !pythonName.MatchString(base) {
		return false
	}
	dir = strings.TrimSuffix(dir, "/")
	for _, p := range prefixes {
		if dir == strings.TrimSuffix(p, "/")+"/bin" {
			return true
		}
	}
	return false
}

// trampoline rewrites a script whose shebang runs a python of this
// environment (directly, or through pip's /bin/sh form) to the Trampoline
// head followed by the rest of the script. Other scripts come back unchanged.
func trampoline(b []byte, prefixes []string) []byte {
	if bytes.HasPrefix(b, []byte(Trampoline)) {
		return b
	}
	line1, rest, _ := bytes.Cut(b, []byte("\n"))
	l1 := strings.TrimSpace(strings.TrimPrefix(string(line1), "#!"))
	if l1 == "/bin/sh" && bytes.HasPrefix(rest, []byte("'''exec' ")) {
		// pip/distlib's form for long shebangs:
		//   #!/bin/sh
		//   '''exec' /prefix/bin/python "$0" "$@"
		//   ' '''
		line2, rest2, _ := bytes.Cut(rest, []byte("\n"))
		line3, rest3, _ := bytes.Cut(rest2, []byte("\n"))
		if strings.TrimSpace(string(line3)) != "' '''" {
			return b
		}
		interp := strings.TrimPrefix(string(line2), "'''exec' ")
		interp = strings.TrimSpace(interp)
		if strings.HasPrefix(interp, "'") || strings.HasPrefix(interp, `"`) {
			q := interp[:1]
			if i := strings.Index(interp[1:], q); i >= 0 {
				interp = interp[1 : 1+i]
			}
		} else if f := strings.Fields(interp); len(f) > 0 {
			interp = f[0]
		}
		if !isEnvPython(interp, prefixes) {
			return b
		}
		return append([]byte(Trampoline), rest3...)
	}
	opts, ok := envShebang(l1, prefixes)
	if !ok {
		return b
	}
	head := Trampoline
	if opts != "" {
		// keep interpreter options (#!/p/bin/python -E)
		head = strings.Replace(Trampoline, `/python" "$0"`, `/python" `+opts+` "$0"`, 1)
	}
	return append([]byte(head), rest...)
}

// envShebang tells whether a shebang line (without "#!") runs a python of
// this environment, and returns the interpreter's options. The prefix is
// matched as a whole, not split on blanks: after the text files were
// relocated, a direct shebang may name a new prefix with spaces in it.
func envShebang(l1 string, prefixes []string) (opts string, ok bool) {
	for _, p := range prefixes {
		rest, found := strings.CutPrefix(l1, strings.TrimSuffix(p, "/")+"/bin/")
		if !found {
			continue
		}
		name, args, _ := strings.Cut(rest, " ")
		if i := strings.IndexAny(name, "\t"); i >= 0 {
			name, args = name[:i], name[i+1:]+" "+args
		}
		if pythonName.MatchString(name) {
			return strings.TrimSpace(args), true
		}
	}
	return "", false
}

var activateLine = regexp.MustCompile(`(?m)^([ \t]*)(?:export[ \t]+)?VIRTUAL_ENV=(?:"([^"\n]*)"|'([^'\n]*)'|([^ \t\n;]+))[ \t]*$`)

// relocatableActivate makes bin/activate compute VIRTUAL_ENV from its own
// location when sourced by bash or zsh, falling back to the absolute prefix.
func relocatableActivate(b []byte, prefix string, prefixes []string) []byte {
	return activateLine.ReplaceAllFunc(b, func(m []byte) []byte {
		sm := activateLine.FindSubmatch(m)
		val := string(sm[2]) + string(sm[3]) + string(sm[4])
		ok := false
		for _, p := range prefixes {
			if val == p {
				ok = true
			}
		}
		if !ok {
			return m
		}
		ind := string(sm[1])
		lines := []string{
			`# swcli: find the environment from this script's own path when sourced by`,
			`# bash (BASH_SOURCE) or zsh ($0); other shells get the absolute prefix.`,
			`_swcli_here=""`,
			`case "${BASH_SOURCE:-$0}" in`,
			`    */*) _swcli_here="$(CDPATH= cd -- "$(dirname -- "${BASH_SOURCE:-$0}")/.." 2>/dev/null && pwd)" ;;`,
			`esac`,
			`if [ -n "$_swcli_here" ] && [ -f "$_swcli_here/pyvenv.cfg" ]; then`,
			`    VIRTUAL_ENV="$_swcli_here"`,
			`else`,
			`    VIRTUAL_ENV=` + pyenv.ShQuote(prefix),
			`fi`,
			`unset _swcli_here`,
			`export VIRTUAL_ENV`,
		}
		return []byte(ind + strings.Join(lines, "\n"+ind))
	})
}

// replacePadded replaces every C string that starts with old by the same
// string with old replaced by new, padded with NULs to its old length (as
// conda does for binary files). len(new) must not exceed len(old).
func replacePadded(b, old, new []byte) []byte {
	if len(old) == 0 || !bytes.Contains(b, old) {
		return b
	}
	out := append([]byte(nil), b...)
	i := 0
	for {
		j := bytes.Index(out[i:], old)
		if j < 0 {
			return out
		}
		start := i + j
		end := start + bytes.IndexByte(out[start:], 0)
		if end < start { // no NUL: up to the end of the file
			end = len(out)
		}
		s := out[start:end]
		ns := bytes.ReplaceAll(s, old, new)
		copy(out[start:end], ns)
		for k := start + len(ns); k < end; k++ {
			out[k] = 0
		}
		i = end
		if i >= len(out) {
			return out
		}
	}
}
