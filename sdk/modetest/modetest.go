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

// fixture is what the tests of one Run share: the mode, the wheels, and
// environments each made once, on first need, by whichever test needs it
// first. So every test runs alone (-run TestConformance/Lock makes the
// environment it locks), and a fixture that fails fails each test that
// needs it, saying which fixture.
type fixture struct {
	s      Suite
	m      mode.Mode
	py     string
	wheels string
	root   string
	events []mode.Event

	prefixA   string
	created   memo[struct{}]
	installed memo[[]mode.Event]
	lock      memo[mode.Lock]
	files     memo[mode.FilesReport]
}

// memo is one fixture, made at most once.
type memo[T any] struct {
	done bool
	v    T
	err  error
}

func (m *memo[T]) get(t *testing.T, what string, make func() (T, error)) T {
	t.Helper()
	if !m.done {
		m.done = true
		m.v, m.err = make()
	}
	if m.err != nil {
		t.Fatalf("fixture %s: %v", what, m.err)
	}
	return m.v
}

// createdEnv is prefixA, made by Create.
func (f *fixture) createdEnv(t *testing.T) string {
	t.Helper()
	f.created.get(t, "create "+f.prefixA, func() (struct{}, error) {
		return struct{}{}, f.m.Create(context.Background(), mode.CreateRequest{Env: f.env(f.prefixA)}, f.ev)
	})
	return f.prefixA
}

// installedEnv is prefixA with the test package installed; it returns the
// events Install sent.
func (f *fixture) installedEnv(t *testing.T) (string, []mode.Event) {
	t.Helper()
	p := f.createdEnv(t)
	ev := f.installed.get(t, "install "+pkgName+" into "+p, func() ([]mode.Event, error) {
		var evs []mode.Event
		err := f.m.Install(context.Background(), mode.InstallRequest{Env: f.env(p), Dependencies: []mode.Dependency{
			{Kind: mode.DepPip, Packages: []string{pkgName + "==1.0"}},
		}}, func(e mode.Event) { evs = append(evs, e) })
		return evs, err
	})
	return p, ev
}

// lockOf is the Lock of the installed environment.
func (f *fixture) lockOf(t *testing.T) mode.Lock {
	t.Helper()
	p, _ := f.installedEnv(t)
	return f.lock.get(t, "lock "+p, func() (mode.Lock, error) {
		return f.m.Lock(context.Background(), mode.LockRequest{Env: f.env(p)}, f.ev)
	})
}

// filesOf is the Files report of the installed environment.
func (f *fixture) filesOf(t *testing.T) mode.FilesReport {
	t.Helper()
	p, _ := f.installedEnv(t)
	return f.files.get(t, "files of "+p, func() (mode.FilesReport, error) {
		return f.m.Files(context.Background(), mode.FilesRequest{Env: f.env(p)})
	})
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

// Run runs the suite: one named subtest per part of the contract, each
// runnable alone (go test -run 'TestConformance/Lock'); the environments
// they need are made once, on first need (see fixture).
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
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, f *fixture)
	}{
		{"Info", testInfo},
		{"Doctor", testDoctor},
		{"CreateUnknownPython", testCreateUnknownPython},
		{"CreateRefusesNonEmptyPrefix", testCreateRefusesNonEmptyPrefix},
		{"Create", testCreate},
		{"Install", testInstall},
		{"InstallFailureIsToolFailed", testInstallFailureIsToolFailed},
		{"InstallCanceled", testInstallCanceled},
		{"Lock", testLock},
		{"Files", testFiles},
		{"Activation", testActivation},
		{"RestoreFromLock", testRestoreFromLock},
		{"Relocate", testRelocate},
	} {
		t.Run(tc.name, func(t *testing.T) { f.events = nil; tc.fn(t, f) })
	}
}

var ctx = context.Background()

func testInfo(t *testing.T, f *fixture) {
	info, err := f.m.Info(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, info.Name)
	assert.Equal(t, "mode", info.Kind)
	assert.NotEmpty(t, info.Version)
	assert.Contains(t, info.ProtocolVersions, mode.ProtocolVersion)
}

func testDoctor(t *testing.T, f *fixture) {
	rep, err := f.m.Doctor(ctx, mode.DoctorRequest{Python: mode.Python{Version: f.py}})
	require.NoError(t, err)
	require.NotEmpty(t, rep.Tools, "doctor lists the tools the mode needs")
	for _, tl := range rep.Tools {
		assert.NotEmpty(t, tl.Name)
	}
}

func testCreateUnknownPython(t *testing.T, f *fixture) {
	e := f.env(filepath.Join(f.root, "envs", "nopython"))
	e.Python.Version = "3.99"
	err := f.m.Create(ctx, mode.CreateRequest{Env: e}, f.ev)
	modeErr(t, err, mode.ErrNoTool)
	assert.Contains(t, err.Error(), "3.99")
	_, serr := os.Stat(e.Prefix)
	assert.True(t, os.IsNotExist(serr), "a failed create leaves no prefix")
}

func testCreateRefusesNonEmptyPrefix(t *testing.T, f *fixture) {
	p := filepath.Join(f.root, "envs", "busy")
	require.NoError(t, os.MkdirAll(p, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(p, "keep.txt"), []byte("mine"), 0o644))
	err := f.m.Create(ctx, mode.CreateRequest{Env: f.env(p)}, f.ev)
	modeErr(t, err, mode.ErrInvalid)
	b, rerr := os.ReadFile(filepath.Join(p, "keep.txt"))
	require.NoError(t, rerr, "create must not touch a non-empty prefix")
	assert.Equal(t, "mine", string(b))
}

func testCreate(t *testing.T, f *fixture) {
	p := f.createdEnv(t)
	out := run(t, nil, f.root, filepath.Join(p, "bin", "python"), "-c",
		"import sys; print('%d.%d' % sys.version_info[:2]); print(sys.prefix)")
	lines := strings.Split(out, "\n")
	assert.Equal(t, f.py, lines[0])
}

func testInstall(t *testing.T, f *fixture) {
	p, events := f.installedEnv(t)
	assert.NotEmpty(t, events, "install streams events (tool output, progress)")
	run(t, nil, os.TempDir(), filepath.Join(p, "bin", "python"), "-c", "import "+pkgImport)
	out := run(t, []string{"PATH=/usr/bin:/bin"}, os.TempDir(), filepath.Join(p, "bin", script))
	assert.Contains(t, out, pkgName+" 1.0")
}

func testInstallFailureIsToolFailed(t *testing.T, f *fixture) {
	p := f.createdEnv(t)
	err := f.m.Install(ctx, mode.InstallRequest{Env: f.env(p), Dependencies: []mode.Dependency{
		{Kind: mode.DepPip, Packages: []string{"swcli-modetest-missing==9.9"}},
	}}, f.ev)
	modeErr(t, err, mode.ErrToolFailed)
	run(t, nil, f.root, filepath.Join(p, "bin", "python"), "-c", "pass")
}

func testInstallCanceled(t *testing.T, f *fixture) {
	p := f.createdEnv(t)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err := f.m.Install(cctx, mode.InstallRequest{Env: f.env(p), Dependencies: []mode.Dependency{
		{Kind: mode.DepPip, Packages: []string{pkgName + "==1.0"}},
	}}, f.ev)
	assert.Error(t, err, "a canceled call fails")
}

func testLock(t *testing.T, f *fixture) {
	lock := f.lockOf(t)
	assert.True(t, strings.HasPrefix(lock.Python, f.py+"."), "lock.Python %q is the exact X.Y.Z", lock.Python)
	i := slices.IndexFunc(lock.Packages, func(p mode.LockedPackage) bool { return testpy.NormalizeName(p.Name) == pkgName })
	require.GreaterOrEqual(t, i, 0, "lock lists %s: %+v", pkgName, lock.Packages)
	assert.Equal(t, "1.0", lock.Packages[i].Version)
	for _, p := range lock.Packages {
		assert.NotEmpty(t, p.Name)
		assert.NotEmpty(t, p.Version, p.Name)
		assert.NotEmpty(t, p.Installer, p.Name)
	}
}

func testFiles(t *testing.T, f *fixture) {
	rep := f.filesOf(t)
	assert.True(t, strings.HasPrefix(rep.Python, f.py+"."))
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
}

func testActivation(t *testing.T, f *fixture) {
	prefix, _ := f.installedEnv(t)
	for _, sh := range mode.Shells {
		act, err := f.m.Activation(ctx, mode.ActivationRequest{Env: f.env(prefix), Shell: sh, Name: "modetest"})
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
		probe := "command -v python\npython -c 'import " + pkgImport + "'"
		out := run(t, []string{"PATH=/usr/bin:/bin", "HOME=" + f.root}, f.root, bin, "-c", act.Script+"\n"+probe)
		// The folder of the python found, not python itself: a venv's
		// bin/python is a link to the base interpreter.
		got, _ := filepath.EvalSymlinks(filepath.Dir(strings.Split(strings.TrimSpace(out), "\n")[0]))
		want, _ := filepath.EvalSymlinks(prefix)
		assert.Truef(t, strings.HasPrefix(got, want+string(filepath.Separator)),
			"%s: after eval of the activation script, python is %q, not the environment's (%s)", sh, got, want)
	}
	_, err := f.m.Activation(ctx, mode.ActivationRequest{Env: f.env(prefix), Shell: "tcsh-nope", Name: "x"})
	modeErr(t, err, mode.ErrUnsupported)
}

func testRestoreFromLock(t *testing.T, f *fixture) {
	lock := f.lockOf(t)
	p := filepath.Join(f.root, "envs", "restored")
	req := mode.RestoreRequest{Env: f.env(p), Lock: lock, WheelDirs: []string{f.wheels}}
	require.NoError(t, f.m.Restore(ctx, req, f.ev))
	run(t, nil, os.TempDir(), filepath.Join(p, "bin", "python"), "-c", "import "+pkgImport)
	got, err := f.m.Lock(ctx, mode.LockRequest{Env: f.env(p)}, f.ev)
	require.NoError(t, err)
	assert.Equal(t, versions(lock), versions(got), "a restored environment holds exactly the lock")
}

func testRelocate(t *testing.T, f *fixture) {
	info, err := f.m.Info(ctx)
	require.NoError(t, err)
	if !info.Capabilities.Relocate {
		t.Skip("the mode does not declare the relocate capability")
	}
	rep := f.filesOf(t)
	layers, err := envpack.Plan(f.prefixA, rep)
	require.NoError(t, err)
	sc := envpack.NewScrubber(f.prefixA, f.root)
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
