package venvmode_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/plugins/venv/venvmode"
	"github.com/swcli/swcli/sdk/testpy"
)

func newMode() *venvmode.Mode { return venvmode.New(venvmode.Options{Version: "test"}) }

// recorder collects events.
type recorder struct {
	mu     sync.Mutex
	events []mode.Event
}

func (r *recorder) ev() mode.Events {
	return func(e mode.Event) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.events = append(r.events, e)
	}
}

func (r *recorder) logs() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, e := range r.events {
		if e.Level != "" {
			b.WriteString(e.Message + "\n")
		}
	}
	return b.String()
}

func (r *recorder) progress(stage string) []mode.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []mode.Event
	for _, e := range r.events {
		if e.Level == "" && e.Stage == stage {
			out = append(out, e)
		}
	}
	return out
}

// workdir makes a workdir with wheels/: hello-tool 1.0 (console script
// "hello", requires dep-lib) and dep-lib 2.0.
func workdir(t *testing.T) string {
	t.Helper()
	wd := t.TempDir()
	require.NoError(t, makeWorkdir(wd))
	return wd
}

func makeWorkdir(wd string) error {
	wheels := filepath.Join(wd, "wheels")
	_, err := testpy.BuildWheel(wheels, testpy.Wheel{
		Name: "hello-tool", Version: "1.0", Requires: []string{"dep-lib==2.0"},
		Files: map[string][]byte{
			"hello_tool/__init__.py": []byte("import sys\nimport dep_lib\n\ndef main():\n    print('hello', dep_lib.__version__, __file__, sys.prefix)\n"),
		},
		ConsoleScripts: map[string]string{"hello": "hello_tool:main"},
	})
	if err != nil {
		return err
	}
	_, err = testpy.BuildWheel(wheels, testpy.Wheel{Name: "dep-lib", Version: "2.0"})
	return err
}

// Creating a venv takes seconds (ensurepip), so the tests that only read an
// environment share one: hello-tool installed from its wheel file (and
// dep-lib from the wheel folder, offline) at a prefix with a space in it.
var (
	fixtureDir  string
	fixtureOnce sync.Once
	fixtureEnv  mode.Env
	fixturePy   testpy.Python
	fixtureErr  error
)

func TestMain(m *testing.M) {
	// The user's cache (~/.cache/swcli: interpreter probes, pip seeds) is
	// shared with every swcli on the machine, of any version: these tests
	// get their own.
	cache, err := os.MkdirTemp("", "venvmode-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", cache)
	code := m.Run()
	_ = os.RemoveAll(cache)
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// built returns the shared environment (do not modify it).
func built(t *testing.T) (mode.Env, testpy.Python) {
	t.Helper()
	py := testpy.AnyPythons(t, 1)[0]
	fixtureOnce.Do(func() {
		fixturePy = py
		fixtureDir, fixtureErr = os.MkdirTemp("", "venvmode-test-")
		if fixtureErr != nil {
			return
		}
		wd := filepath.Join(fixtureDir, "work dir")
		if fixtureErr = makeWorkdir(wd); fixtureErr != nil {
			return
		}
		env := mode.Env{Workdir: wd, Prefix: filepath.Join(fixtureDir, "build", "env a"), Python: mode.Python{Path: py.Path},
			Pip: mode.PipConfig{NoIndex: true, FindLinks: []string{"wheels"}}}
		m := newMode()
		if fixtureErr = m.Create(context.Background(), mode.CreateRequest{Env: env}, nil); fixtureErr != nil {
			return
		}
		fixtureErr = m.Install(context.Background(), mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{
			{Kind: mode.DepWheel, Packages: []string{"wheels/hello_tool-1.0-py3-none-any.whl"}},
		}}, nil)
		fixtureEnv = env
	})
	require.NoError(t, fixtureErr)
	return fixtureEnv, fixturePy
}

func create(t *testing.T, m *venvmode.Mode, env mode.Env) {
	t.Helper()
	require.NoError(t, m.Create(context.Background(), mode.CreateRequest{Env: env}, nil))
}

func sh(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %q:\n%s", name, args, out)
	return string(out)
}

func modeErr(t *testing.T, err error, code string) *mode.Error {
	t.Helper()
	var me *mode.Error
	require.True(t, errors.As(err, &me), "want *mode.Error, got %T %v", err, err)
	assert.Equal(t, code, me.Code, me.Message)
	return me
}

func TestInfo(t *testing.T) {
	info, err := newMode().Info(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "venv", info.Name)
	assert.Equal(t, "mode", info.Kind)
	assert.Equal(t, "test", info.Version)
	assert.Equal(t, []int{mode.ProtocolVersion}, info.ProtocolVersions)
	assert.Equal(t, mode.Capabilities{Relocate: true, IncludeEditable: true}, info.Capabilities)
}

func TestCreateAndDoctor(t *testing.T) {
	t.Parallel()
	pys := testpy.AnyPythons(t, 2)
	m := newMode()
	for _, py := range pys {
		t.Run(py.Version, func(t *testing.T) {
			t.Parallel()
			prefix := filepath.Join(t.TempDir(), "env")
			rec := &recorder{}
			require.NoError(t, m.Create(context.Background(), mode.CreateRequest{Env: mode.Env{Prefix: prefix, Python: mode.Python{Version: py.Version}}}, rec.ev()))
			out := sh(t, "", nil, filepath.Join(prefix, "bin", "python"), "-c", "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.prefix)")
			assert.Equal(t, py.Version+"\n"+prefix+"\n", out)
			assert.NotEmpty(t, rec.progress("create"))

			// A non-empty prefix is refused and left alone.
			err := m.Create(context.Background(), mode.CreateRequest{Env: mode.Env{Prefix: prefix, Python: mode.Python{Version: py.Version}}}, nil)
			modeErr(t, err, mode.ErrInvalid)
			assert.FileExists(t, filepath.Join(prefix, "pyvenv.cfg"))

			rep, err := m.Doctor(context.Background(), mode.DoctorRequest{Python: mode.Python{Version: py.Version}})
			require.NoError(t, err)
			require.Len(t, rep.Tools, 3)
			assert.True(t, rep.Tools[0].OK)
			assert.Equal(t, py.Patch, rep.Tools[0].Version)
			assert.True(t, rep.Tools[1].OK, rep.Tools[1].Message)
		})
	}
}

func TestCreateErrors(t *testing.T) {
	t.Parallel()
	m := newMode()
	prefix := filepath.Join(t.TempDir(), "env")
	err := m.Create(context.Background(), mode.CreateRequest{Env: mode.Env{Prefix: prefix, Python: mode.Python{Version: "3.99"}}}, nil)
	me := modeErr(t, err, mode.ErrNoTool)
	assert.Contains(t, me.Message, "no Python 3.99 found; found: ")
	assert.Contains(t, me.Message, "install Python 3.99 or pass --python /path/to/python")
	assert.NoDirExists(t, prefix)

	err = m.Create(context.Background(), mode.CreateRequest{Env: mode.Env{Prefix: prefix, Python: mode.Python{Path: "/nonexistent/python"}}}, nil)
	modeErr(t, err, mode.ErrNoTool)

	pys := testpy.FindPythons()
	if len(pys) >= 2 {
		err = m.Create(context.Background(), mode.CreateRequest{Env: mode.Env{Prefix: prefix, Python: mode.Python{Path: pys[0].Path, Version: pys[1].Version}}}, nil)
		modeErr(t, err, mode.ErrInvalid)
	}
	err = m.Create(context.Background(), mode.CreateRequest{Env: mode.Env{Prefix: "relative/env"}}, nil)
	modeErr(t, err, mode.ErrInvalid)

	rep, err := m.Doctor(context.Background(), mode.DoctorRequest{Python: mode.Python{Version: "3.99"}})
	require.NoError(t, err)
	assert.False(t, rep.Tools[0].OK)
}

func TestInstallFromIndex(t *testing.T) {
	t.Parallel()
	py := testpy.AnyPythons(t, 1)[0]
	m := newMode()
	wd := workdir(t)
	require.NoError(t, os.WriteFile(filepath.Join(wd, "requirements.txt"), []byte("hello-tool==1.0\n"), 0o644))
	index := testpy.ServeIndex(t, filepath.Join(wd, "wheels"))
	for _, tc := range []struct {
		name string
		pip  mode.PipConfig
		dep  mode.Dependency
	}{
		{"index", mode.PipConfig{IndexURL: index, TrustedHost: []string{"127.0.0.1"}}, mode.Dependency{Kind: mode.DepPipReq, Path: "requirements.txt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := mode.Env{Workdir: wd, Prefix: filepath.Join(t.TempDir(), "env"), Python: mode.Python{Version: py.Version}, Pip: tc.pip}
			create(t, m, env)
			rec := &recorder{}
			require.NoError(t, m.Install(context.Background(), mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{
				tc.dep,
				{Kind: mode.DepFile, Src: "requirements.txt", Dest: "etc/req.txt"},
				{Kind: mode.DepCommand, Command: `echo "$VIRTUAL_ENV" > venv.txt; command -v python >> venv.txt; pwd >> venv.txt; cp venv.txt "$VIRTUAL_ENV/etc/"; rm venv.txt`},
			}}, rec.ev()))
			assert.Contains(t, rec.logs(), "Successfully installed dep-lib-2.0 hello-tool-1.0")
			prog := rec.progress("install")
			require.Len(t, prog, 3)
			assert.Equal(t, int64(3), prog[2].Current)
			assert.Equal(t, int64(3), prog[2].Total)

			out := sh(t, t.TempDir(), []string{"PATH=/usr/bin:/bin"}, filepath.Join(env.Prefix, "bin", "hello"))
			assert.Contains(t, out, "hello 2.0 "+env.Prefix)
			assert.FileExists(t, filepath.Join(env.Prefix, "etc", "req.txt"))
			b, err := os.ReadFile(filepath.Join(env.Prefix, "etc", "venv.txt"))
			require.NoError(t, err)
			assert.Equal(t, env.Prefix+"\n"+filepath.Join(env.Prefix, "bin", "python")+"\n"+wd+"\n", string(b))
		})
	}
}

func TestInstallFailure(t *testing.T) {
	t.Parallel()
	env, _ := built(t)
	m := newMode()
	env.Workdir = t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(env.Workdir, "requirements.txt"), []byte("no-such-package==9.9\n"), 0o644))
	rec := &recorder{}
	err := m.Install(context.Background(), mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{{Kind: mode.DepPipReq, Path: "requirements.txt"}}}, rec.ev())
	me := modeErr(t, err, mode.ErrToolFailed)
	assert.True(t, strings.HasPrefix(me.Message, "pip install -r requirements.txt failed: ERROR: "), me.Message)
	assert.Contains(t, me.Message, "no-such-package")
	assert.Contains(t, me.Detail, "ERROR:")
	assert.LessOrEqual(t, len(strings.Split(me.Detail, "\n")), 40)
	assert.Contains(t, rec.logs(), "ERROR:")

	err = m.Install(context.Background(), mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{{Kind: mode.DepCommand, Command: "echo boom >&2; exit 3"}}}, nil)
	me = modeErr(t, err, mode.ErrToolFailed)
	assert.Contains(t, me.Message, "boom")

	err = m.Install(context.Background(), mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{{Kind: mode.DepConda, Packages: []string{"numpy"}}}}, nil)
	modeErr(t, err, mode.ErrUnsupported)

	// Cancellation kills the whole process group promptly.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{{Kind: mode.DepCommand, Command: "sleep 30 & sleep 30; wait"}}}, nil)
	require.Error(t, err)
	assert.Less(t, time.Since(start), 10*time.Second)
}

func TestLockFilesRestore(t *testing.T) {
	t.Parallel()
	env, py := built(t)
	m := newMode()
	wd := env.Workdir

	lock, err := m.Lock(context.Background(), mode.LockRequest{Env: env}, nil)
	require.NoError(t, err)
	assert.Equal(t, py.Patch, lock.Python)
	byName := map[string]mode.LockedPackage{}
	for _, p := range lock.Packages {
		byName[p.Name] = p
		assert.Equal(t, mode.InstallerPip, p.Installer)
	}
	require.Contains(t, byName, "hello-tool")
	require.Contains(t, byName, "dep-lib")
	require.Contains(t, byName, "pip")
	h := byName["hello-tool"]
	assert.Equal(t, "1.0", h.Version)
	assert.Equal(t, "wheels/hello_tool-1.0-py3-none-any.whl", h.Source)
	require.Len(t, h.Hashes, 1)
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, h.Hashes[0])
	assert.Equal(t, "", byName["dep-lib"].Source)
	require.Len(t, lock.Files, 1)
	assert.Equal(t, "requirements-lock.txt", lock.Files[0].Name)
	txt := string(lock.Files[0].Content)
	assert.Contains(t, txt, "\ndep-lib==2.0\n")
	assert.Contains(t, txt, "\nwheels/hello_tool-1.0-py3-none-any.whl")
	assert.Contains(t, txt, h.Hashes[0])
	lock2, err := m.Lock(context.Background(), mode.LockRequest{Env: env}, nil)
	require.NoError(t, err)
	assert.Equal(t, lock, lock2, "lock must be deterministic")

	rep, err := m.Files(context.Background(), mode.FilesRequest{Env: env})
	require.NoError(t, err)
	assert.Equal(t, py.Patch, rep.Python)
	assert.NotEmpty(t, rep.Platform)
	assert.Regexp(t, `^cp3\d+`, rep.ABI)
	var hello *mode.PackageFiles
	for i, p := range rep.Packages {
		if p.Name == "hello-tool" {
			hello = &rep.Packages[i]
		}
		for _, f := range p.Files {
			assert.NotContains(t, f, "__pycache__")
			assert.False(t, filepath.IsAbs(f) || strings.HasPrefix(f, ".."), f)
			assert.FileExists(t, filepath.Join(env.Prefix, f))
		}
	}
	require.NotNil(t, hello)
	site := "lib/python" + py.Version + "/site-packages/"
	assert.Contains(t, hello.Files, "bin/hello")
	assert.Contains(t, hello.Files, site+"hello_tool/__init__.py")
	assert.Contains(t, hello.Files, site+"hello_tool-1.0.dist-info/RECORD")
	assert.Contains(t, hello.Files, site+"hello_tool-1.0.dist-info/METADATA")
	assert.Contains(t, rep.Exclude, "pyvenv.cfg")
	assert.Contains(t, rep.Exclude, "bin/python")
	assert.Contains(t, rep.Exclude, "bin/activate")

	// Restore offline from the lock, with the wheels in a wheel folder and a
	// workdir that lacks them.
	wheelDir := filepath.Join(wd, "wheels")
	other := t.TempDir()
	renv := mode.Env{Workdir: other, Prefix: filepath.Join(t.TempDir(), "restored"), Python: mode.Python{Version: py.Version},
		Pip: mode.PipConfig{NoIndex: true}}
	rec := &recorder{}
	require.NoError(t, m.Restore(context.Background(), mode.RestoreRequest{Env: renv, Lock: lock, WheelDirs: []string{wheelDir}}, rec.ev()), rec.logs())
	rlock, err := m.Lock(context.Background(), mode.LockRequest{Env: renv}, nil)
	require.NoError(t, err)
	assert.Equal(t, names(lock), names(rlock))
	out := sh(t, t.TempDir(), []string{"PATH=/usr/bin:/bin"}, filepath.Join(renv.Prefix, "bin", "hello"))
	assert.Contains(t, out, "hello 2.0 "+renv.Prefix)

	// A lock that cannot be satisfied fails with pip's message and leaves
	// no prefix behind.
	bad := lock
	bad.Packages = append([]mode.LockedPackage{{Name: "missing-pkg", Version: "1.0", Installer: "pip"}}, lock.Packages...)
	benv := renv
	benv.Prefix = filepath.Join(t.TempDir(), "bad")
	err = m.Restore(context.Background(), mode.RestoreRequest{Env: benv, Lock: bad, WheelDirs: []string{wheelDir}}, nil)
	me := modeErr(t, err, mode.ErrToolFailed)
	assert.Contains(t, me.Message, "missing-pkg")
	assert.NoDirExists(t, benv.Prefix)
}

func names(l mode.Lock) []string {
	var s []string
	for _, p := range l.Packages {
		s = append(s, p.Name+"=="+p.Version)
	}
	return s
}

// TestRelocateCycle builds an env at A, packs what Files lists (and the
// base) with A replaced by the placeholder, unpacks it over a fresh env at B,
// relocates, and runs the console script from elsewhere; then moves B again.
func TestRelocateCycle(t *testing.T) {
	t.Parallel()
	envA, py := built(t)
	m := newMode()
	wd := envA.Workdir
	a := envA.Prefix

	rep, err := m.Files(context.Background(), mode.FilesRequest{Env: envA})
	require.NoError(t, err)

	// "Pack": every file under A that is not excluded, with A replaced by the
	// placeholder in text files.
	stage := t.TempDir()
	var textFiles []string
	excluded := func(rel string) bool {
		for _, e := range rep.Exclude {
			if rel == strings.TrimSuffix(e, "/") || (strings.HasSuffix(e, "/") && strings.HasPrefix(rel, e)) {
				return true
			}
			// A bare folder name ("__pycache__/") is that folder anywhere.
			if name, ok := strings.CutSuffix(e, "/"); ok && !strings.Contains(name, "/") && strings.Contains("/"+rel+"/", "/"+name+"/") {
				return true
			}
		}
		return false
	}
	owned := map[string]bool{}
	for _, p := range rep.Packages {
		for _, f := range p.Files {
			owned[f] = true
		}
	}
	require.True(t, owned["bin/hello"])
	require.NoError(t, filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(a, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if excluded(rel) || excluded(rel+"/") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		if bytes.Contains(b, []byte(a)) {
			b = bytes.ReplaceAll(b, []byte(a), []byte(mode.PrefixPlaceholder))
			textFiles = append(textFiles, rel)
		}
		if bytes.Contains(b, []byte(wd)) {
			b = bytes.ReplaceAll(b, []byte(wd), []byte(mode.WorkdirPlaceholder))
			textFiles = append(textFiles, rel)
		}
		info, _ := d.Info()
		dst := filepath.Join(stage, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		return os.WriteFile(dst, b, info.Mode().Perm())
	}))
	require.Contains(t, textFiles, "bin/hello")

	// Restore at B: fresh venv with the same interpreter, unpack, relocate.
	b := filepath.Join(t.TempDir(), "target", "env-b")
	wdB := t.TempDir()
	envB := mode.Env{Workdir: wdB, Prefix: b, Python: mode.Python{Path: py.Path}}
	create(t, m, envB)
	require.NoError(t, filepath.WalkDir(stage, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(stage, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(b, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		info, _ := d.Info()
		return os.WriteFile(filepath.Join(b, rel), data, info.Mode().Perm())
	}))
	require.NoError(t, m.Relocate(context.Background(), mode.RelocateRequest{Env: envB, TextFiles: textFiles, OldPrefix: a}, nil))
	require.NoError(t, m.Relocate(context.Background(), mode.RelocateRequest{Env: envB, TextFiles: textFiles, OldPrefix: a}, nil), "relocate is idempotent")

	hello, err := os.ReadFile(filepath.Join(b, "bin", "hello"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(hello), venvmode.Trampoline), string(hello))

	// No path of A is left anywhere under B.
	require.NoError(t, filepath.WalkDir(b, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if d.Type().IsRegular() {
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			assert.False(t, bytes.Contains(data, []byte(a)), "%s still holds %s", p, a)
			assert.False(t, bytes.Contains(data, []byte(mode.PrefixPlaceholder)), "%s still holds the placeholder", p)
		}
		return nil
	}))

	clean := []string{"PATH=/usr/bin:/bin"}
	elsewhere := t.TempDir()
	out := sh(t, elsewhere, clean, filepath.Join(b, "bin", "hello"))
	assert.Contains(t, out, "hello 2.0 "+filepath.Join(b, "lib"))
	assert.Contains(t, out, " "+b+"\n")
	out = sh(t, elsewhere, clean, filepath.Join(b, "bin", "pip"), "--version")
	assert.Contains(t, out, filepath.Join(b, "lib"))

	// Move B again: scripts and bin/activate still work (no relocation).
	c := filepath.Join(t.TempDir(), "moved-c")
	require.NoError(t, os.Rename(b, c))
	out = sh(t, elsewhere, clean, filepath.Join(c, "bin", "hello"))
	assert.Contains(t, out, "hello 2.0 "+filepath.Join(c, "lib"))
	out = sh(t, elsewhere, clean, "/bin/bash", "-c", `source "$1" && echo "$VIRTUAL_ENV" && python -c 'import sys; print(sys.prefix)'`, "bash", filepath.Join(c, "bin", "activate"))
	assert.Equal(t, c+"\n"+c+"\n", out)
	if zsh, err := exec.LookPath("zsh"); err == nil {
		out = sh(t, elsewhere, clean, zsh, "-c", `source "$1" && echo "$VIRTUAL_ENV" && python -c 'import sys; print(sys.prefix)'`, "zsh", filepath.Join(c, "bin", "activate"))
		assert.Equal(t, c+"\n"+c+"\n", out)
	}
	// POSIX sh cannot know a sourced file's path: it gets the prefix
	// Relocate was given.
	out = sh(t, elsewhere, clean, "/bin/sh", "-c", `. "$1" && echo "$VIRTUAL_ENV"`, "sh", filepath.Join(c, "bin", "activate"))
	assert.Equal(t, b+"\n", out)
}

func TestRelocateBinaryAndErrors(t *testing.T) {
	m := newMode()
	prefix := filepath.Join(t.TempDir(), "p")
	require.NoError(t, os.MkdirAll(filepath.Join(prefix, "bin"), 0o755))
	old := "/" + strings.Repeat("o", 200)
	bin := []byte("\x7fELF\x00" + old + "/lib/libx.so\x00tail")
	require.NoError(t, os.WriteFile(filepath.Join(prefix, "lib.so"), bin, 0o755))
	require.NoError(t, m.Relocate(context.Background(), mode.RelocateRequest{Env: mode.Env{Prefix: prefix}, BinaryFiles: []string{"lib.so"}, OldPrefix: old}, nil))
	got, err := os.ReadFile(filepath.Join(prefix, "lib.so"))
	require.NoError(t, err)
	want := "\x7fELF\x00" + prefix + "/lib/libx.so" + strings.Repeat("\x00", len(old)-len(prefix)) + "\x00tail"
	assert.Equal(t, want, string(got))

	err = m.Relocate(context.Background(), mode.RelocateRequest{Env: mode.Env{Prefix: prefix}, BinaryFiles: []string{"lib.so"}, OldPrefix: "/o"}, nil)
	tooLong := modeErr(t, err, mode.ErrPrefixTooLong)
	assert.Contains(t, tooLong.Message, "--from-lock", "the refusal says what restores into this folder")
	err = m.Relocate(context.Background(), mode.RelocateRequest{Env: mode.Env{Prefix: prefix}, TextFiles: []string{"../etc/passwd"}}, nil)
	modeErr(t, err, mode.ErrInvalid)
}

func TestActivation(t *testing.T) {
	t.Parallel()
	env0, _ := built(t)
	m := newMode()
	prefix := env0.Prefix

	act, err := m.Activation(context.Background(), mode.ActivationRequest{Env: mode.Env{Prefix: prefix}, Shell: "bash", Name: "demo"})
	require.NoError(t, err)
	assert.Equal(t, []mode.EnvVar{{Name: "VIRTUAL_ENV", Value: prefix}, {Name: "PATH", Value: prefix + "/bin:${PATH}"}}, act.Vars)
	assert.Equal(t, []string{"PYTHONHOME"}, act.Unset)

	env := []string{"PATH=/usr/bin:/bin", "PYTHONHOME=/nonexistent"}
	check := `; echo "$VIRTUAL_ENV"; python -c 'import sys; print(sys.prefix)'`
	for _, shell := range []string{"bash", "sh", "zsh"} {
		t.Run(shell, func(t *testing.T) {
			bin, err := exec.LookPath(shell)
			if err != nil {
				t.Skipf("%s not installed", shell)
			}
			act, err := m.Activation(context.Background(), mode.ActivationRequest{Env: mode.Env{Prefix: prefix}, Shell: shell, Name: "demo"})
			require.NoError(t, err)
			out := sh(t, t.TempDir(), env, bin, "-c", `eval "$1"`+check, shell, act.Script)
			assert.Equal(t, prefix+"\n"+prefix+"\n", out)
			// interactive: the prompt gets the name
			out = sh(t, t.TempDir(), env, bin, "-i", "-c", `PS1='$ '; eval "$1"; printf '%s\n' "$PS1"`, shell, act.Script)
			assert.Contains(t, out, "(demo) $ ")
		})
	}
	t.Run("fish", func(t *testing.T) {
		bin, err := exec.LookPath("fish")
		if err != nil {
			t.Skip("fish not installed")
		}
		act, err := m.Activation(context.Background(), mode.ActivationRequest{Env: mode.Env{Prefix: prefix}, Shell: "fish"})
		require.NoError(t, err)
		out := sh(t, t.TempDir(), env, bin, "-c", act.Script+"\necho $VIRTUAL_ENV; python -c 'import sys; print(sys.prefix)'")
		assert.Equal(t, prefix+"\n"+prefix+"\n", out)
	})
	t.Run("quoting", func(t *testing.T) {
		q := "/tmp/it's a \\ env"
		act, err := m.Activation(context.Background(), mode.ActivationRequest{Env: mode.Env{Prefix: q}, Shell: "fish"})
		require.NoError(t, err)
		assert.Contains(t, act.Script, `set -gx VIRTUAL_ENV '/tmp/it\'s a \\ env'`)
		assert.Contains(t, act.Script, "set -e PYTHONHOME")
		act, err = m.Activation(context.Background(), mode.ActivationRequest{Env: mode.Env{Prefix: q}, Shell: "bash"})
		require.NoError(t, err)
		out := sh(t, "", nil, "/bin/sh", "-c", `eval "$1"; printf '%s\n' "$VIRTUAL_ENV"`, "sh", act.Script)
		assert.Equal(t, q+"\n", out)
	})

	_, err = m.Activation(context.Background(), mode.ActivationRequest{Env: mode.Env{Prefix: prefix}, Shell: "tcsh"})
	me := modeErr(t, err, mode.ErrUnsupported)
	for _, s := range []string{"bash", "zsh", "fish", "sh"} {
		assert.Contains(t, me.Message, s)
	}
}

// TestOldPython checks that Lock and Files work on the oldest Python the
// machine has (3.6 and 3.7 have no importlib.metadata; pip there writes no
// direct_url.json).
func TestOldPython(t *testing.T) {
	t.Parallel()
	var py testpy.Python
	for _, v := range []string{"3.6", "3.7"} {
		if p, ok := testpy.FindPython(v); ok {
			py = p
			break
		}
	}
	if py.Path == "" {
		t.Skipf("no Python 3.6 or 3.7; found: %v", testpy.FindPythons())
	}
	m := newMode()
	wd := workdir(t)
	env := mode.Env{Workdir: wd, Prefix: filepath.Join(t.TempDir(), "old"), Python: mode.Python{Version: py.Version},
		Pip: mode.PipConfig{NoIndex: true, FindLinks: []string{"wheels"}}}
	create(t, m, env)
	require.NoError(t, m.Install(context.Background(), mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{
		{Kind: mode.DepWheel, Packages: []string{"wheels/hello_tool-1.0-py3-none-any.whl"}},
	}}, nil))
	lock, err := m.Lock(context.Background(), mode.LockRequest{Env: env}, nil)
	require.NoError(t, err)
	assert.Equal(t, py.Patch, lock.Python)
	assert.Contains(t, names(lock), "hello-tool==1.0")
	assert.Contains(t, names(lock), "dep-lib==2.0")
	rep, err := m.Files(context.Background(), mode.FilesRequest{Env: env})
	require.NoError(t, err)
	assert.Regexp(t, `^cp3[67]m$`, rep.ABI)
	found := false
	for _, p := range rep.Packages {
		if p.Name == "hello-tool" {
			found = true
			assert.Contains(t, p.Files, "bin/hello")
		}
	}
	assert.True(t, found)
}

// TestLockEditable locks a legacy editable install (setup.py develop:
// .egg-link), which needs setuptools in the venv (Python 3.8 to 3.11).
func TestLockEditable(t *testing.T) {
	t.Parallel()
	var py testpy.Python
	for _, v := range []string{"3.11", "3.10", "3.9", "3.8"} {
		if p, ok := testpy.FindPython(v); ok {
			py = p
			break
		}
	}
	if py.Path == "" {
		t.Skipf("no Python 3.8-3.11 (venvs with setuptools); found: %v", testpy.FindPythons())
	}
	m := newMode()
	wd := t.TempDir()
	proj := filepath.Join(wd, "proj")
	require.NoError(t, os.MkdirAll(filepath.Join(proj, "edpkg"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(proj, "setup.py"), []byte("from setuptools import setup\nsetup(name='ed-pkg', version='0.1', packages=['edpkg'])\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(proj, "edpkg", "__init__.py"), nil, 0o644))
	env := mode.Env{Workdir: wd, Prefix: filepath.Join(t.TempDir(), "env"), Python: mode.Python{Version: py.Version}}
	create(t, m, env)
	require.NoError(t, m.Install(context.Background(), mode.InstallRequest{Env: env, Dependencies: []mode.Dependency{
		{Kind: mode.DepCommand, Command: "cd proj && python setup.py -q develop"},
	}}, nil))
	lock, err := m.Lock(context.Background(), mode.LockRequest{Env: env}, nil)
	require.NoError(t, err)
	var ed *mode.LockedPackage
	for i, p := range lock.Packages {
		if p.Name == "ed-pkg" {
			ed = &lock.Packages[i]
		}
	}
	require.NotNil(t, ed, "%v", names(lock))
	assert.True(t, ed.Editable)
	assert.Equal(t, "proj", ed.Source)
	assert.Contains(t, string(lock.Files[0].Content), "\n-e ./proj\n")
}

func TestCreateBare(t *testing.T) {
	t.Parallel()
	py := testpy.AnyPythons(t, 1)[0]
	prefix := filepath.Join(t.TempDir(), "bare")
	require.NoError(t, newMode().Create(context.Background(), mode.CreateRequest{Env: mode.Env{Prefix: prefix, Python: mode.Python{Path: py.Path}}, Bare: true}, nil))
	assert.FileExists(t, filepath.Join(prefix, "pyvenv.cfg"))
	assert.NoFileExists(t, filepath.Join(prefix, "bin", "pip"))
	out := sh(t, "", nil, filepath.Join(prefix, "bin", "python"), "-c", "import sys; print(sys.prefix)")
	assert.Equal(t, prefix+"\n", out)
}
