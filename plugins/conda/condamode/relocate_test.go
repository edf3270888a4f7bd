package condamode

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/pyenv"
	"github.com/swcli/swcli/sdk/testpy"
)

// packCopy copies an environment the way the host packs and unpacks it:
// __pycache__ left out, the old prefix and workdir replaced by the
// placeholders in text files, binary files (with a NUL byte) kept as they are.
// It returns the text and binary files that held a path.
func packCopy(t *testing.T, from, to, oldWorkdir string) (text, binary []string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(from, p)
		target := filepath.Join(to, rel)
		if d.IsDir() {
			if d.Name() == "__pycache__" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			l, err := os.Readlink(p)
			require.NoError(t, err)
			return os.Symlink(l, target)
		}
		info, err := d.Info()
		require.NoError(t, err)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		if bytes.Contains(b, []byte(from)) || bytes.Contains(b, []byte(oldWorkdir)) {
			if bytes.IndexByte(b, 0) >= 0 {
				binary = append(binary, filepath.ToSlash(rel))
			} else {
				text = append(text, filepath.ToSlash(rel))
				b = bytes.ReplaceAll(b, []byte(from), []byte(mode.PrefixPlaceholder))
				b = bytes.ReplaceAll(b, []byte(oldWorkdir), []byte(mode.WorkdirPlaceholder))
			}
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
	require.NoError(t, err)
	return text, binary
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			info, _ := d.Info()
			out[p] = string(b) + "|" + info.Mode().String()
		}
		return nil
	}))
	return out
}

// TestStandinRelocate packs an environment built by the stand-in at a long
// prefix, unpacks it at a longer one (refused, nothing changed) and at a
// shorter one (relocated: text placeholders, NUL-padded binary prefixes,
// shebang trampolines, conda-meta scrubbed, scripts run from the new place).
func TestStandinRelocate(t *testing.T) {
	testpy.RequirePython(t, "3.11")
	m, _ := standin(t)
	ctx := ctxT(t)
	root := t.TempDir()
	wd := filepath.Join(root, "wd")
	demo := buildWheel(t, filepath.Join(wd, "wheels"), testpy.Wheel{Name: "demo-pkg", Version: "1.0",
		ConsoleScripts: map[string]string{"demo-cli": "demo_pkg:main"}})
	old := filepath.Join(root, "build-prefix-long-enough-to-relocate", "env")
	env := mode.Env{Workdir: wd, Prefix: old, Python: mode.Python{Version: "3.11"}}
	require.NoError(t, m.Create(ctx, mode.CreateRequest{Env: env}, nil))
	require.NoError(t, m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{
		{Kind: mode.DepConda, Packages: []string{"libfoo", "zlib"}},
		{Kind: mode.DepWheel, Packages: []string{demo}},
	}}, nil))

	// Longer: refused before any file changes.
	long := filepath.Join(root, "build-prefix-long-enough-to-relocate-and-longer", "env")
	text, binary := packCopy(t, old, long, wd)
	require.Contains(t, binary, "lib/libfoo.so")
	require.Contains(t, text, "etc/libfoo/libfoo.conf")
	before := snapshot(t, long)
	err := m.Relocate(ctx, mode.RelocateRequest{Env: mode.Env{Prefix: long, Workdir: wd},
		TextFiles: text, BinaryFiles: binary, OldPrefix: old}, nil)
	me := modeErr(t, err, mode.ErrPrefixTooLong)
	assert.Equal(t, "cannot relocate to "+long+": "+itoa(len(long))+" characters, longer than the packed prefix ("+
		itoa(len(old))+") that binary files embed; choose a shorter --target-dir, or restore with --from-lock, which installs the same lock into this folder", me.Message)
	assert.Equal(t, before, snapshot(t, long), "no file changed")

	// Shorter: relocated.
	short := filepath.Join(root, "s")
	newWd := filepath.Join(root, "wd2")
	require.NoError(t, os.Rename(wd, newWd))
	text, binary = packCopy(t, old, short, wd)
	require.NoError(t, os.RemoveAll(old), "the build place is gone")
	rec := &recorder{}
	require.NoError(t, m.Relocate(ctx, mode.RelocateRequest{Env: mode.Env{Prefix: short, Workdir: newWd},
		TextFiles: text, BinaryFiles: binary, OldPrefix: old}, rec.ev()))
	assert.NotEmpty(t, rec.progress("relocate"))

	conf, err := os.ReadFile(filepath.Join(short, "etc/libfoo/libfoo.conf"))
	require.NoError(t, err)
	assert.Equal(t, "prefix="+short+"\ndata="+short+"/share/libfoo/data\n", string(conf))

	oldBin, newBin := readBoth(t, filepath.Join(long, "lib/libfoo.so"), filepath.Join(short, "lib/libfoo.so"))
	assert.Equal(t, len(oldBin), len(newBin), "binary keeps its length")
	assert.Contains(t, string(newBin), short+"/share/libfoo/data\x00")
	i := bytes.Index(oldBin, []byte(old))
	assert.Equal(t, oldBin[:i], newBin[:i], "bytes before the string unchanged")
	assert.Equal(t, oldBin[i+512:], newBin[i+512:], "bytes after the 512-byte field unchanged")

	// No path of the old place or the placeholders is left.
	require.NoError(t, filepath.WalkDir(short, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			assert.NotContains(t, string(b), old, p)
			assert.NotContains(t, string(b), mode.PrefixPlaceholder, p)
			assert.NotContains(t, string(b), mode.WorkdirPlaceholder, p)
			if strings.Contains(p, "conda-meta") {
				assert.NotContains(t, string(b), "/opt/standin-conda/pkgs", p)
			}
		}
		return nil
	}))

	// Shebangs became trampolines and the scripts run from the new place.
	cli, err := os.ReadFile(filepath.Join(short, "bin", "demo-cli"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(cli), "#!/bin/sh\n'''exec' \"$(dirname -- \"$(realpath -- \"$0\")\")/python"), string(cli))
	out, err := exec.Command(filepath.Join(short, "bin", "demo-cli")).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "demo-pkg 1.0")
	out, err = exec.Command(filepath.Join(short, "bin", "libfoo-tool")).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Equal(t, "libfoo-tool "+short+"\n", string(out))
	out, err = exec.Command(filepath.Join(short, "bin", "foo-config")).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Equal(t, short+"\n", string(out))

	// The relocated environment still locks, with the wheel workdir-relative.
	lock, err := m.Lock(ctx, mode.LockRequest{Env: mode.Env{Prefix: short, Workdir: newWd}}, nil)
	require.NoError(t, err)
	d, ok := findPkg(lock.Packages, "demo-pkg")
	require.True(t, ok)
	assert.Equal(t, "wheels/demo_pkg-1.0-py3-none-any.whl", d.Source)
	rel, ok := findPkg(lock.Packages, "libfoo")
	require.True(t, ok)
	assert.Equal(t, mode.InstallerConda, rel.Installer)

	// Relocate refuses paths that leave the prefix.
	err = m.Relocate(ctx, mode.RelocateRequest{Env: mode.Env{Prefix: short}, TextFiles: []string{"../x"}}, nil)
	modeErr(t, err, mode.ErrInvalid)
}

func readBoth(t *testing.T, a, b string) ([]byte, []byte) {
	t.Helper()
	x, err := os.ReadFile(a)
	require.NoError(t, err)
	y, err := os.ReadFile(b)
	require.NoError(t, err)
	return x, y
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestStandinActivation evaluates the activation in real shells: CONDA_PREFIX
// and LIBFOO_HOME (from libfoo's activate.d script) are set, python is the
// environment's, the prompt shows the name.
func TestStandinActivation(t *testing.T) {
	testpy.RequirePython(t, "3.10")
	m, _ := standin(t)
	ctx := ctxT(t)
	root := t.TempDir()
	env := mode.Env{Workdir: root, Prefix: filepath.Join(root, "it's env"), Python: mode.Python{Version: "3.10"}}
	require.NoError(t, m.Create(ctx, mode.CreateRequest{Env: env}, nil))
	require.NoError(t, m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{
		{Kind: mode.DepConda, Packages: []string{"libfoo"}}}}, nil))

	for _, sh := range []string{"bash", "sh", "zsh"} {
		t.Run(sh, func(t *testing.T) {
			exe, err := exec.LookPath(sh)
			if err != nil {
				t.Skipf("%s is not installed here", sh)
			}
			act, err := m.Activation(ctx, mode.ActivationRequest{Env: env, Shell: sh, Name: "demo"})
			require.NoError(t, err)
			// The script stands alone: eval it in a plain, interactive shell.
			script := "PS1='$ '\neval " + pyenv.ShQuote(act.Script) + "\n" +
				`printf '%s\n' "$CONDA_PREFIX" "$LIBFOO_HOME" "$PS1" "$CONDA_DEFAULT_ENV" "$(command -v python)"` + "\n"
			args := []string{"-i", "-c", script}
			if sh == "bash" {
				args = append([]string{"--norc", "--noprofile"}, args...)
			}
			cmd := exec.Command(exe, args...)
			cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + root, "PYTHONHOME=/nonexistent"}
			out, err := cmd.Output()
			require.NoError(t, err, string(out))
			lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
			require.Len(t, lines, 5, string(out))
			assert.Equal(t, env.Prefix, lines[0])
			assert.Equal(t, env.Prefix, lines[1], "activate.d script sourced")
			assert.Equal(t, "(demo) $ ", lines[2])
			assert.Equal(t, "demo", lines[3])
			assert.Equal(t, filepath.Join(env.Prefix, "bin", "python"), lines[4])

			// What the host does: set Vars (expanding ${NAME}), unset Unset, eval Script.
			var b strings.Builder
			for _, v := range act.Vars {
				b.WriteString("export " + v.Name + "=" + pyenv.ShQuote(os.Expand(v.Value, os.Getenv)) + "\n")
			}
			for _, u := range act.Unset {
				b.WriteString("unset " + u + "\n")
			}
			b.WriteString("eval " + pyenv.ShQuote(act.Script) + "\n")
			b.WriteString(`printf '%s\n' "$LIBFOO_HOME" "$(python -c 'import sys; print(sys.prefix)')"` + "\n")
			out, err = exec.Command(exe, "-c", b.String()).CombinedOutput()
			require.NoError(t, err, string(out))
			assert.Equal(t, env.Prefix+"\n"+env.Prefix+"\n", string(out))
		})
	}

	t.Run("fish", func(t *testing.T) {
		act, err := m.Activation(ctx, mode.ActivationRequest{Env: env, Shell: "fish", Name: "demo"})
		require.NoError(t, err)
		assert.Contains(t, act.Script, "source '"+strings.ReplaceAll(env.Prefix, "'", `\'`)+"/etc/conda/activate.d/libfoo.fish'\n")
		exe, err := exec.LookPath("fish")
		if err != nil {
			t.Skip("fish is not installed here; checked the script text only")
		}
		out, err := exec.Command(exe, "-c", act.Script+"\necho $LIBFOO_HOME\n").CombinedOutput()
		require.NoError(t, err, string(out))
		assert.Equal(t, env.Prefix+"\n", string(out))
	})

	t.Run("unknown shell", func(t *testing.T) {
		_, err := m.Activation(ctx, mode.ActivationRequest{Env: env, Shell: "powershell"})
		me := modeErr(t, err, mode.ErrUnsupported)
		assert.Contains(t, me.Message, "powershell")
	})

	vars := map[string]string{}
	act, err := m.Activation(ctx, mode.ActivationRequest{Env: env, Shell: "bash", Name: "demo"})
	require.NoError(t, err)
	var names []string
	for _, v := range act.Vars {
		vars[v.Name] = v.Value
		names = append(names, v.Name)
	}
	sort.Strings(names)
	assert.Equal(t, []string{"CONDA_DEFAULT_ENV", "CONDA_PREFIX", "CONDA_PROMPT_MODIFIER", "CONDA_SHLVL", "PATH"}, names)
	assert.Equal(t, filepath.Join(env.Prefix, "bin")+":${PATH}", vars["PATH"])
}
