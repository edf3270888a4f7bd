// Package modetest is the conformance suite for environment modes: every mode
// plugin in this repository passes it, and a third-party mode (poetry, uv,
// pixi ...) runs it in its own tests:
//
//	func TestConformance(t *testing.T) {
//		modetest.Run(t, modetest.Suite{New: func(t *testing.T) mode.Mode {
//			return sdktest.ModeOverGRPC(t, mymode.New())
//		}})
//	}
//
// It checks the contract written in core/mode with real Python and real pip,
// offline: it builds tiny wheels with sdk/testpy and installs them from a
// folder. It needs one Python 3 interpreter on the machine and skips, saying
// what it found, when there is none.
package modetest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/envpack"
	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/testpy"
)

// Suite configures a conformance run.
type Suite struct {
	// New returns the mode under test: in-process, through sdktest.ModeOverGRPC,
	// or a real plugin process.
	New func(t *testing.T) mode.Mode
	// Python is the X.Y to create environments with; empty picks one found
	// on the machine.
	Python string
	// Env adjusts every Env the suite builds (channels, tool paths ...).
	Env func(env *mode.Env)
}

const (
	pkgName   = "swcli-modetest-a"
	pkgImport = "swcli_modetest_a"
	script    = "swcli-modetest-a"
)

type fixture struct {
	s        Suite
	m        mode.Mode
	py       string
	wheels   string
	root     string
	events   []mode.Event
	baseEnv  mode.Env
	prefixA  string
	created  bool
	installd bool
}

func (f *fixture) env(prefix string) mode.Env {
	e := mode.Env{Workdir: f.root, Prefix: prefix, Python: mode.Python{Version: f.py},
		Pip: mode.PipConfig{NoIndex: true, FindLinks: []string{f.wheels}}}
	if f.s.Env != nil {
		f.s.Env(&e)
	}
	return e
}

func (f *fixture) ev(e mode.Event) { f.events = append(f.events, e) }

func modeErr(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	var me *mode.Error
	require.Truef(t, errors.As(err, &me), "want a *mode.Error with code %q, got %T: %v", code, err, err)
	assert.Equalf(t, code, me.Code, "error: %v", err)
	assert.NotEmpty(t, me.Message)
	assert.NotContains(t, me.Message, "\n", "a mode error's message is one line (put tool output in Detail)")
}

func run(t *testing.T, env []string, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env, cmd.Dir = env, dir
	out, err := cmd.CombinedOutput()
	require.NoErrorf(t, err, "%s %v: %s", name, args, out)
	return strings.TrimSpace(string(out))
}

// Run runs the suite. Subtests depend on each other in order (create, then
// install, then lock ...); a failure early skips what needs it.
func Run(t *testing.T, s Suite) {
	py := s.Python
	if py == "" {
		py = testpy.AnyPythons(t, 1)[0].Version
	} else {
		testpy.RequirePython(t, py)
	}
	root := t.TempDir()
	f := &fixture{s: s, m: s.New(t), py: py, root: root, wheels: filepath.Join(root, "wheels")}
	_, err := testpy.BuildWheel(f.wheels, testpy.Wheel{Name: pkgName, Version: "1.0",
		ConsoleScripts: map[string]string{script: pkgImport + ":main"}})
	require.NoError(t, err)
	f.prefixA = filepath.Join(root, "envs", "a")
	ctx := context.Background()

	t.Run("Info", func(t *testing.T) {
		info, err := f.m.Info(ctx)
		require.NoError(t, err)
		assert.NotEmpty(t, info.Name)
		assert.Equal(t, "mode", info.Kind)
		assert.NotEmpty(t, info.Version)
		assert.Contains(t, info.ProtocolVersions, mode.ProtocolVersion)
	})

	t.Run("Doctor", func(t *testing.T) {
		rep, err := f.m.Doctor(ctx, mode.DoctorRequest{Python: mode.Python{Version: py}})
		require.NoError(t, err)
		require.NotEmpty(t, rep.Tools, "doctor lists the tools the mode needs")
		for _, tl := range rep.Tools {
			assert.NotEmpty(t, tl.Name)
		}
	})

	t.Run("CreateUnknownPython", func(t *testing.T) {
		e := f.env(filepath.Join(root, "envs", "nopython"))
		e.Python.Version = "3.99"
		err := f.m.Create(ctx, mode.CreateRequest{Env: e}, f.ev)
		modeErr(t, err, mode.ErrNoTool)
		assert.Contains(t, err.Error(), "3.99")
		_, serr := os.Stat(e.Prefix)
		assert.True(t, os.IsNotExist(serr), "a failed create leaves no prefix")
	})

	t.Run("CreateRefusesNonEmptyPrefix", func(t *testing.T) {
		p := filepath.Join(root, "envs", "busy")
		require.NoError(t, os.MkdirAll(p, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(p, "keep.txt"), []byte("mine"), 0o644))
		err := f.m.Create(ctx, mode.CreateRequest{Env: f.env(p)}, f.ev)
		modeErr(t, err, mode.ErrInvalid)
		b, rerr := os.ReadFile(filepath.Join(p, "keep.txt"))
		require.NoError(t, rerr, "create must not touch a non-empty prefix")
		assert.Equal(t, "mine", string(b))
	})

	t.Run("Create", func(t *testing.T) {
		require.NoError(t, f.m.Create(ctx, mode.CreateRequest{Env: f.env(f.prefixA)}, f.ev))
		out := run(t, nil, root, filepath.Join(f.prefixA, "bin", "python"), "-c",
			"import sys; print('%d.%d' % sys.version_info[:2]); print(sys.prefix)")
		lines := strings.Split(out, "\n")
		assert.Equal(t, py, lines[0])
		f.created = true
	})

	t.Run("Install", func(t *testing.T) {
		if !f.created {
			t.Skip("needs Create")
		}
		f.events = nil
		err := f.m.Install(ctx, mode.InstallRequest{Env: f.env(f.prefixA), Dependencies: []mode.Dependency{
			{Kind: mode.DepPip, Packages: []string{pkgName + "==1.0"}},
		}}, f.ev)
		require.NoError(t, err)
		assert.NotEmpty(t, f.events, "install streams events (tool output, progress)")
		run(t, nil, os.TempDir(), filepath.Join(f.prefixA, "bin", "python"), "-c", "import "+pkgImport)
		out := run(t, []string{"PATH=/usr/bin:/bin"}, os.TempDir(), filepath.Join(f.prefixA, "bin", script))
		assert.Contains(t, out, pkgName+" 1.0")
		f.installd = true
	})

	t.Run("InstallFailureIsToolFailed", func(t *testing.T) {
		if !f.created {
			t.Skip("needs Create")
		}
		err := f.m.Install(ctx, mode.InstallRequest{Env: f.env(f.prefixA), Dependencies: []mode.Dependency{
			{Kind: mode.DepPip, Packages: []string{"swcli-modetest-missing==9.9"}},
		}}, f.ev)
		modeErr(t, err, mode.ErrToolFailed)
		run(t, nil, root, filepath.Join(f.prefixA, "bin", "python"), "-c", "pass")
	})

	t.Run("InstallCanceled", func(t *testing.T) {
		if !f.created {
			t.Skip("needs Create")
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		start := time.Now()
		err := f.m.Install(cctx, mode.InstallRequest{Env: f.env(f.prefixA), Dependencies: []mode.Dependency{
			{Kind: mode.DepPip, Packages: []string{pkgName + "==1.0"}},
		}}, f.ev)
		assert.Error(t, err, "a canceled call fails")
		assert.Less(t, time.Since(start), 30*time.Second)
	})

	var lock mode.Lock
	t.Run("Lock", func(t *testing.T) {
		if !f.installd {
			t.Skip("needs Install")
		}
		var err error
		lock, err = f.m.Lock(ctx, mode.LockRequest{Env: f.env(f.prefixA)}, f.ev)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(lock.Python, py+"."), "lock.Python %q is the exact X.Y.Z", lock.Python)
		i := slices.IndexFunc(lock.Packages, func(p mode.LockedPackage) bool { return testpy.NormalizeName(p.Name) == pkgName })
		require.GreaterOrEqual(t, i, 0, "lock lists %s: %+v", pkgName, lock.Packages)
		assert.Equal(t, "1.0", lock.Packages[i].Version)
		for _, p := range lock.Packages {
			assert.NotEmpty(t, p.Name)
			assert.NotEmpty(t, p.Version, p.Name)
			assert.NotEmpty(t, p.Installer, p.Name)
		}
	})

	var rep mode.FilesReport
	t.Run("Files", func(t *testing.T) {
		if !f.installd {
			t.Skip("needs Install")
		}
		var err error
		rep, err = f.m.Files(ctx, mode.FilesRequest{Env: f.env(f.prefixA)})
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(rep.Python, py+"."))
		assert.NotEmpty(t, rep.Platform)
		i := slices.IndexFunc(rep.Packages, func(p mode.PackageFiles) bool { return testpy.NormalizeName(p.Name) == pkgName })
		require.GreaterOrEqual(t, i, 0)
		owned := map[string]string{}
		for _, p := range rep.Packages {
			for _, fl := range p.Files {
				assert.False(t, filepath.IsAbs(fl) || strings.HasPrefix(fl, "../"), "%s: %s is prefix-relative", p.Name, fl)
				if o, dup := owned[fl]; dup {
					t.Errorf("%s is listed by both %s and %s", fl, o, p.Name)
				}
				owned[fl] = p.Name
			}
		}
		assert.Contains(t, rep.Packages[i].Files, "bin/"+script, "console scripts belong to their package")
		hasInit := slices.ContainsFunc(rep.Packages[i].Files, func(s string) bool { return strings.HasSuffix(s, pkgImport+"/__init__.py") })
		assert.True(t, hasInit, "package files listed: %v", rep.Packages[i].Files)
	})

	t.Run("Activation", func(t *testing.T) {
		if !f.created {
			t.Skip("needs Create")
		}
		for _, sh := range mode.Shells {
			act, err := f.m.Activation(ctx, mode.ActivationRequest{Env: f.env(f.prefixA), Shell: sh, Name: "modetest"})
			require.NoError(t, err, sh)
			assert.NotEmpty(t, act.Script, sh)
			assert.NotEmpty(t, act.Vars, sh)
			bin, err := exec.LookPath(sh)
			if err != nil {
				t.Logf("%s not installed: its script is not evaluated", sh)
				continue
			}
			// What activation means is the mode's business (a venv moves
			// sys.prefix, a PYTHONPATH-style mode does not); what every mode
			// owes its user: `python` is the environment's, and what was
			// installed imports.
			probe := "command -v python"
			if f.installd {
				probe += "\npython -c 'import " + pkgImport + "'"
			}
			out := run(t, []string{"PATH=/usr/bin:/bin", "HOME=" + root}, root, bin, "-c", act.Script+"\n"+probe)
			// The folder of the python found, not python itself: a venv's
			// bin/python is a link to the base interpreter.
			got, _ := filepath.EvalSymlinks(filepath.Dir(strings.Split(strings.TrimSpace(out), "\n")[0]))
			want, _ := filepath.EvalSymlinks(f.prefixA)
			assert.Truef(t, strings.HasPrefix(got, want+string(filepath.Separator)),
				"%s: after eval of the activation script, python is %q, not the environment's (%s)", sh, got, want)
		}
		_, err := f.m.Activation(ctx, mode.ActivationRequest{Env: f.env(f.prefixA), Shell: "tcsh-nope", Name: "x"})
		modeErr(t, err, mode.ErrUnsupported)
	})

	t.Run("RestoreFromLock", func(t *testing.T) {
		if lock.Python == "" {
			t.Skip("needs Lock")
		}
		p := filepath.Join(root, "envs", "restored")
		req := mode.RestoreRequest{Env: f.env(p), Lock: lock, WheelDirs: []string{f.wheels}}
		require.NoError(t, f.m.Restore(ctx, req, f.ev))
		run(t, nil, os.TempDir(), filepath.Join(p, "bin", "python"), "-c", "import "+pkgImport)
		got, err := f.m.Lock(ctx, mode.LockRequest{Env: f.env(p)}, f.ev)
		require.NoError(t, err)
		assert.Equal(t, versions(lock), versions(got), "a restored environment holds exactly the lock")
	})

	t.Run("Relocate", func(t *testing.T) {
		if rep.Python == "" {
			t.Skip("needs Files")
		}
		info, _ := f.m.Info(ctx)
		if !info.Capabilities.Relocate {
			t.Skip("the mode does not declare the relocate capability")
		}
		layers, err := envpack.Plan(f.prefixA, rep)
		require.NoError(t, err)
		sc := envpack.NewScrubber(f.prefixA, root)
		// A different, longer parent, to catch leftovers of the old path.
		moved := filepath.Join(t.TempDir(), "elsewhere", "deeper", "env")
		e := f.env(moved)
		require.NoError(t, f.m.Create(ctx, mode.CreateRequest{Env: e}, f.ev))
		for _, l := range layers {
			for _, rel := range l.Files {
				require.NoError(t, copyScrubbed(f.prefixA, moved, rel, sc))
			}
		}
		text, binary := sc.Result()
		require.NoError(t, f.m.Relocate(ctx, mode.RelocateRequest{Env: e, TextFiles: text, BinaryFiles: binary, OldPrefix: f.prefixA}, f.ev))
		// The original is gone: nothing may still point at it.
		require.NoError(t, os.Rename(f.prefixA, f.prefixA+".gone"))
		defer os.Rename(f.prefixA+".gone", f.prefixA)
		other := t.TempDir()
		out := run(t, []string{"PATH=/usr/bin:/bin", "HOME=" + other}, other, filepath.Join(moved, "bin", script))
		assert.Contains(t, out, pkgName+" 1.0")
		out = run(t, []string{"PATH=/usr/bin:/bin", "HOME=" + other}, other, filepath.Join(moved, "bin", "python"), "-c",
			"import "+pkgImport+", sys; print(sys.prefix); print("+pkgImport+".__file__)")
		assert.NotContains(t, out, f.prefixA)
		for _, rel := range text {
			b, err := os.ReadFile(filepath.Join(moved, rel))
			require.NoError(t, err)
			assert.NotContains(t, string(b), mode.PrefixPlaceholder, rel)
			assert.NotContains(t, string(b), f.prefixA, rel)
		}
	})
}

func versions(l mode.Lock) map[string]string {
	m := map[string]string{}
	for _, p := range l.Packages {
		m[testpy.NormalizeName(p.Name)] = p.Version
	}
	return m
}

// copyScrubbed copies one file or symlink as the host's packer would, with
// the build paths replaced by placeholders in text files.
func copyScrubbed(from, to, rel string, sc *envpack.Scrubber) error {
	src := filepath.Join(from, filepath.FromSlash(rel))
	dst := filepath.Join(to, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	st, err := os.Lstat(src)
	if err != nil {
		return err
	}
	_ = os.Remove(dst)
	if st.Mode()&os.ModeSymlink != 0 {
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(target, dst)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if sc.Rewrite(rel) {
		if out, ok := sc.Transform(rel, data); ok {
			data = out
		}
	}
	return os.WriteFile(dst, data, st.Mode().Perm())
}
