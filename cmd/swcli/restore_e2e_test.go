package main_test

// End-to-end tests of `runtime restore`, `runtime extract` and the restore
// on demand of `runtime run`/`activate URI`: the built swcli is executed with
// its own HOME, SW_LOCAL_STORAGE and SW_CLI_CONFIG, real Python and pip, and
// no network (PIP_INDEX_URL is a closed local port). Helpers here are
// prefixed with rs.

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/workflow"
	"github.com/swcli/swcli/internal/testbin"
	"github.com/swcli/swcli/sdk/testpy"
)

// rsPython is the Python X.Y of the runtimes these tests build: 3.11, which
// Debian's /usr/bin/python3.11 also provides (used by the other-user test).
const rsPython = "3.11"

// rsSandbox is one "machine": its own HOME, storage and config.
// rsSandbox is the one e2e harness (cli) with its HOME at root/home, and
// the restore tests' helpers that take the folder to run in first ("" for
// HOME).
type rsSandbox struct {
	*cli
	storage string
}

func rsNewSandbox(t *testing.T, root string) *rsSandbox {
	t.Helper()
	home := filepath.Join(root, "home")
	require.NoError(t, os.MkdirAll(home, 0o755))
	return &rsSandbox{cli: newCLIAt(t, home), storage: filepath.Join(home, "storage")}
}

type rsResult = result

func (s *rsSandbox) cmd(dir string, args ...string) *exec.Cmd {
	c := s.command(args...)
	c.Dir = dir
	return c
}

// exec runs swcli in dir (the sandbox's home when empty).
func (s *rsSandbox) exec(dir string, args ...string) rsResult {
	s.t.Helper()
	if dir == "" {
		dir = s.home
	}
	return s.runAt(dir, "", args...)
}

func errorsAs(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*ee = e
	}
	return ok
}

func (s *rsSandbox) ok(dir string, args ...string) rsResult {
	s.t.Helper()
	r := s.exec(dir, args...)
	require.Equal(s.t, 0, r.code, "swcli %s\n%s", strings.Join(args, " "), r)
	return r
}

func (s *rsSandbox) fail(dir string, args ...string) rsResult {
	s.t.Helper()
	r := s.exec(dir, args...)
	require.NotEqual(s.t, 0, r.code, "swcli %s should fail\n%s", strings.Join(args, " "), r)
	require.NotContains(s.t, r.stderr, "goroutine ", "a refusal is one line, not a stack trace")
	return r
}

// rsRestoreJSON runs restore with -o json and decodes its result.
func (s *rsSandbox) restoreJSON(args ...string) workflow.RestoreResult {
	s.t.Helper()
	r := s.ok("", append([]string{"-o", "json", "runtime", "restore"}, args...)...)
	var res workflow.RestoreResult
	require.NoError(s.t, json.Unmarshal([]byte(r.stdout), &res), r.String())
	return res
}

// rsBuilt is a runtime built in one sandbox and copied out as a .swrt.
type rsBuilt struct {
	name    string
	wd      string // the build workdir (absolute)
	swrt    string
	builder *rsSandbox
	scripts []string // console scripts of the wheels, besides pip's
}

// rsBuild makes a workdir with local wheels (rs-app requires rs-lib; both
// have console scripts), builds it in s and copies the version to a .swrt.
// bigMB > 0 adds rs-big, a wheel with a file of that many MB.
func rsBuild(t *testing.T, s *rsSandbox, root, name string, bigMB int64) rsBuilt {
	t.Helper()
	testpy.RequirePython(t, rsPython)
	wd := filepath.Join(root, "build machine", name+"-src")
	wheels := filepath.Join(wd, "wheels")
	ws := []testpy.Wheel{
		{Name: "rs-lib", Version: "1.0", ConsoleScripts: map[string]string{"rs-lib": "rs_lib:main"}},
		{Name: "rs-app", Version: "2.0", Requires: []string{"rs-lib>=1.0"},
			ConsoleScripts: map[string]string{"rs-app": "rs_app:main", "rs-app-two": "rs_app:main"}},
	}
	if bigMB > 0 {
		ws = append(ws, testpy.Wheel{Name: "rs-big", Version: "1.0",
			Large: map[string]int64{"rs_big/blob.bin": bigMB << 20}})
	}
	var req strings.Builder
	for _, w := range ws {
		p, err := testpy.BuildWheel(wheels, w)
		require.NoError(t, err)
		req.WriteString("wheels/" + filepath.Base(p) + "\n")
	}
	s.ok("", "runtime", "create", "--name", name, "--python", rsPython, wd)
	require.NoError(t, os.WriteFile(filepath.Join(wd, "requirements.txt"), []byte(req.String()), 0o644))
	s.ok("", "runtime", "build", wd)
	swrt := filepath.Join(root, name+".swrt")
	s.ok("", "runtime", "copy", name+"/version/latest", swrt)
	return rsBuilt{name: name, wd: wd, swrt: swrt, builder: s, scripts: []string{"rs-lib", "rs-app", "rs-app-two"}}
}

// rsReadManifest reads the runtime manifest of a .swrt.
func rsReadManifest(t *testing.T, swrt string) *workflow.Manifest {
	t.Helper()
	f, err := os.Open(swrt)
	require.NoError(t, err)
	defer f.Close()
	lay, err := bundle.ReadSWRT(context.Background(), f, t.TempDir(), bundle.DefaultLimits)
	require.NoError(t, err)
	m, err := workflow.ParseManifest(lay.Config)
	require.NoError(t, err)
	return m
}

// rsRewrite writes a copy of src to dst with its runtime manifest edited (as
// JSON) and, if layers is not nil, its layer list replaced (extra gives the
// bytes of layers that are not in src).
func rsRewrite(t *testing.T, src, dst string, edit func(cfg map[string]any),
	layers func([]ocispec.Descriptor) []ocispec.Descriptor, extra map[digest.Digest][]byte) {
	t.Helper()
	f, err := os.Open(src)
	require.NoError(t, err)
	defer f.Close()
	lay, err := bundle.ReadSWRT(context.Background(), f, t.TempDir(), bundle.DefaultLimits)
	require.NoError(t, err)
	m, err := bundle.ParseManifest(lay.Manifest)
	require.NoError(t, err)
	cfg := lay.Config
	if edit != nil {
		var c map[string]any
		require.NoError(t, json.Unmarshal(cfg, &c))
		edit(c)
		cfg, err = json.Marshal(c)
		require.NoError(t, err)
	}
	ls := m.Layers
	if layers != nil {
		ls = layers(append([]ocispec.Descriptor(nil), ls...))
	}
	raw, err := bundle.Manifest(bundle.ConfigDescriptor(cfg), ls, m.Annotations)
	require.NoError(t, err)
	out, err := os.Create(dst)
	require.NoError(t, err)
	defer out.Close()
	require.NoError(t, bundle.WriteSWRT(out, raw, func(d digest.Digest) (io.ReadCloser, int64, error) {
		if d == digest.FromBytes(cfg) {
			return io.NopCloser(bytes.NewReader(cfg)), int64(len(cfg)), nil
		}
		if b, ok := extra[d]; ok {
			return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
		}
		p, ok := lay.Blobs[d]
		if !ok {
			return nil, 0, fmt.Errorf("no blob %s", d)
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, 0, err
		}
		rc, err := os.Open(p)
		return rc, st.Size(), err
	}))
}

// rsEntry is one entry of a hand-made (hostile) layer.
type rsEntry struct {
	name, link string
	typ        byte
	body       string
}

// rsLayer packs entries into a zstd tar as PackLayer never would.
func rsLayer(t *testing.T, role, pkg string, entries ...rsEntry) (ocispec.Descriptor, []byte) {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Linkname: e.link, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if e.typ == tar.TypeDir {
			h.Mode = 0o755
		}
		require.NoError(t, tw.WriteHeader(h))
		if e.typ == tar.TypeReg {
			_, err := tw.Write([]byte(e.body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	var zb bytes.Buffer
	zw, err := zstd.NewWriter(&zb)
	require.NoError(t, err)
	_, err = zw.Write(tb.Bytes())
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	info := bundle.LayerInfo{Digest: digest.FromBytes(zb.Bytes()), Size: int64(zb.Len()), UncompressedSize: int64(tb.Len()), Files: len(entries)}
	return bundle.LayerDescriptor(info, role, pkg), zb.Bytes()
}

// rsFiles lists the regular files and symlinks under dir (relative paths).
func rsFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		r, _ := filepath.Rel(dir, p)
		out = append(out, r)
		return nil
	})
	sort.Strings(out)
	return out
}

// rsGrep lists the files under dir that contain any of needles, except
// those in skip (paths relative to dir).
func rsGrep(t *testing.T, dir string, skip map[string]bool, needles ...string) []string {
	t.Helper()
	var hits []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		r, _ := filepath.Rel(dir, p)
		if skip[filepath.ToSlash(r)] {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				hits = append(hits, r+" holds "+n)
			}
		}
		return nil
	})
	return hits
}

// rsConsoleScripts lists bin/ of a venv minus what venv itself writes.
func rsConsoleScripts(t *testing.T, prefix string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(prefix, "bin"))
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, "python") || strings.HasPrefix(n, "activate") || strings.HasPrefix(n, "Activate") || strings.HasPrefix(n, "deactivate") {
			continue
		}
		out = append(out, n)
	}
	return out
}

// rsRunScript runs a console script by its absolute path from cwd, with no
// activation and a bare environment (another HOME, PATH=/usr/bin:/bin).
func rsRunScript(t *testing.T, script, cwd, home string) string {
	t.Helper()
	c := exec.Command(script, "--version")
	c.Dir = cwd
	c.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "LANG=C.UTF-8"}
	out, err := c.CombinedOutput()
	require.NoError(t, err, "%s from %s: %s", script, cwd, out)
	return string(out)
}

// rsCheckPortable checks a restored venv: console scripts run from another
// folder without activation, no path of the build machine and no
// placeholder left, pyvenv.cfg's home is this machine's interpreter.
func rsCheckPortable(t *testing.T, b rsBuilt, m *workflow.Manifest, workdir, prefix, home string) {
	t.Helper()
	skip := map[string]bool{}
	if m.Relocation != nil {
		for _, f := range m.Relocation.BinaryFiles {
			skip[filepath.ToSlash(filepath.Join(".starwhale", "venv", f))] = true
		}
	}
	hits := rsGrep(t, workdir, skip, b.wd, b.builder.home, b.builder.storage, mode.PrefixPlaceholder, mode.WorkdirPlaceholder)
	assert.Empty(t, hits, "paths of the build machine or placeholders left after restore")

	cfg, err := os.ReadFile(filepath.Join(prefix, "pyvenv.cfg"))
	require.NoError(t, err)
	var pyHome string
	for _, l := range strings.Split(string(cfg), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == "home" {
			pyHome = strings.TrimSpace(v)
		}
	}
	require.NotEmpty(t, pyHome, "pyvenv.cfg has no home:\n%s", cfg)
	_, err = os.Stat(filepath.Join(pyHome, "python"+rsPython))
	assert.NoError(t, err, "pyvenv.cfg home %s has no python%s", pyHome, rsPython)

	elsewhere := t.TempDir()
	scripts := rsConsoleScripts(t, prefix)
	for _, want := range append([]string{"pip"}, b.scripts...) {
		assert.Contains(t, scripts, want)
	}
	for _, sc := range scripts {
		p := filepath.Join(prefix, "bin", sc)
		head, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.NotContains(t, string(head), "/usr/bin/env", "bin/%s", sc)
		out := rsRunScript(t, p, elsewhere, home)
		if strings.HasPrefix(sc, "rs-") {
			assert.Contains(t, out, prefix, "bin/%s runs the restored package", sc)
		}
	}
}

// TestRestoreE2E builds one runtime on a "build machine" (its own HOME and
// storage) and restores its .swrt on "other machines": other HOMEs, other
// folders, another user, with no index reachable.
func TestRestoreE2E(t *testing.T) {
	root := t.TempDir()
	builder := rsNewSandbox(t, filepath.Join(root, "builder"))
	b := rsBuild(t, builder, root, "rs-hello", 0)
	m := rsReadManifest(t, b.swrt)
	require.False(t, m.LockOnly)
	require.NotEmpty(t, b.swrt)

	t.Run("LayerCache", func(t *testing.T) {
		// Two restores of one bundle with hardlinks: the second links every
		// layer from the unpacked-layer cache; copies share nothing; a bad
		// --link-mode is one line; gc frees the entries no stored version
		// uses (a bundle file is not stored), after --dry-run showed them.
		other := rsNewSandbox(t, filepath.Join(t.TempDir(), "cache machine"))
		a, b2, c := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b"), filepath.Join(t.TempDir(), "c")
		other.restoreJSON(b.swrt, "--target-dir", a, "--link-mode", "hardlink")
		other.restoreJSON(b.swrt, "--target-dir", b2, "--link-mode", "hardlink")
		site := func(dir string) string {
			m, err := filepath.Glob(filepath.Join(dir, ".starwhale", "venv", "lib", "python*", "site-packages", "rs_app", "__init__.py"))
			require.NoError(t, err)
			require.Len(t, m, 1)
			return m[0]
		}
		sa, err := os.Stat(site(a))
		require.NoError(t, err)
		sb, err := os.Stat(site(b2))
		require.NoError(t, err)
		assert.True(t, os.SameFile(sa, sb), "the second restore links the cached file")
		other.setenv("SW_LINK_MODE=copy")
		other.restoreJSON(b.swrt, "--target-dir", c)
		sc, err := os.Stat(site(c))
		require.NoError(t, err)
		assert.False(t, os.SameFile(sa, sc), "SW_LINK_MODE=copy copies")
		r := other.ok(t.TempDir(), "runtime", "run", c, "--", "rs-app")
		assert.Contains(t, r.stdout, "rs-app 2.0")
		f := other.fail("", "runtime", "restore", b.swrt, "--target-dir", t.TempDir(), "--link-mode", "symlink")
		assert.Contains(t, f.stderr, "clone, hardlink, copy")

		gc := func(args ...string) workflow.GCStats {
			r := other.ok("", append([]string{"-o", "json", "runtime", "gc"}, args...)...)
			var st workflow.GCStats
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &st), r.String())
			return st
		}
		dry := gc("--dry-run")
		assert.Positive(t, dry.LayerCache.Freed.Entries, "no stored version uses the bundle file's layers")
		assert.Positive(t, dry.LayerCache.Freed.Bytes)
		assert.Equal(t, dry.LayerCache.Freed, gc().LayerCache.Freed, "gc frees what --dry-run showed")
		assert.Zero(t, gc("--dry-run").LayerCache.Freed.Entries+gc("--dry-run").LayerCache.Kept.Entries, "the cache is empty")
		r = other.ok(t.TempDir(), "runtime", "run", b2, "--", "rs-app")
		assert.Contains(t, r.stdout, "rs-app 2.0", "environments keep their files when the cache goes")
	})

	t.Run("FastPathPortable", func(t *testing.T) {
		other := rsNewSandbox(t, filepath.Join(t.TempDir(), "other machine"))
		target := filepath.Join(t.TempDir(), "restored here", "rt")
		res := other.restoreJSON(b.swrt, "--target-dir", target)
		assert.Equal(t, "layers", res.Path)
		assert.Equal(t, target, res.Workdir)
		prefix := filepath.Join(target, ".starwhale", "venv")
		assert.Equal(t, prefix, res.Prefix)
		st, err := workflow.ReadState(workflow.StatePathOf(target, "venv"))
		require.NoError(t, err)
		require.NotNil(t, st)
		assert.Equal(t, workflow.StateReady, st.State)
		rsCheckPortable(t, b, m, target, prefix, other.home)
		// no lock file left in the user's folders
		_, err = os.Stat(target + ".lock")
		assert.True(t, os.IsNotExist(err), "restore left %s.lock", target)

		// runtime run on the restored folder, from another folder
		r := other.ok(t.TempDir(), "runtime", "run", target, "--", "rs-app")
		assert.Contains(t, r.stdout, "rs-app 2.0 "+prefix)

		// A second restore into the same folder is a no-op; into a foreign
		// non-empty folder it is refused, and --force replaces.
		res = other.restoreJSON(b.swrt, "--target-dir", target)
		assert.Equal(t, "cached", res.Path)
		foreign := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(foreign, "mine.txt"), []byte("keep"), 0o644))
		f := other.fail("", "runtime", "restore", b.swrt, "--target-dir", foreign)
		assert.Contains(t, f.stderr, "--force")
		assert.Equal(t, []string{"mine.txt"}, rsFiles(t, foreign), "a refused restore leaves the folder as it was")
		res = other.restoreJSON(b.swrt, "--target-dir", foreign, "--force")
		assert.Equal(t, "layers", res.Path)
		_, err = os.Stat(filepath.Join(foreign, "mine.txt"))
		assert.True(t, os.IsNotExist(err))

		// Moved again: activate finds its own location, scripts still run.
		moved := filepath.Join(t.TempDir(), "moved again")
		require.NoError(t, os.Rename(target, moved))
		mprefix := filepath.Join(moved, ".starwhale", "venv")
		for _, sh := range []string{"bash", "zsh"} {
			if _, err := exec.LookPath(sh); err != nil {
				t.Logf("%s not installed: activate not checked with it", sh)
				continue
			}
			c := exec.Command(sh, "-c", `. "$1/bin/activate" && echo "VE=$VIRTUAL_ENV" && command -v python && python -c 'import sys; print("PFX=" + sys.prefix)' && rs-app`, "sh", mprefix)
			c.Dir = t.TempDir()
			c.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + other.home}
			out, err := c.CombinedOutput()
			require.NoError(t, err, "%s: %s", sh, out)
			assert.Contains(t, string(out), "VE="+mprefix+"\n", sh)
			assert.Contains(t, string(out), mprefix+"/bin/python\n", sh)
			assert.Contains(t, string(out), "PFX="+mprefix+"\n", sh)
			assert.Contains(t, string(out), "rs-app 2.0 "+mprefix, sh)
		}
		for _, sc := range b.scripts {
			out := rsRunScript(t, filepath.Join(mprefix, "bin", sc), t.TempDir(), other.home)
			assert.Contains(t, out, mprefix)
		}
		// runtime run on the moved folder uses the moved environment, not
		// the cached variables of the old place (nor the system's python)
		r = other.ok(t.TempDir(), "runtime", "run", moved, "--", "python", "-c", "import sys, rs_app; print(sys.prefix); print(rs_app.__file__)")
		assert.Contains(t, r.stdout, mprefix+"\n")
		assert.Contains(t, r.stdout, filepath.Join(mprefix, "lib"))
		r = other.ok(t.TempDir(), "runtime", "run", moved, "--", "rs-app")
		assert.Contains(t, r.stdout, "rs-app 2.0 "+mprefix)
	})

	t.Run("OtherUser", func(t *testing.T) {
		rsOtherUser(t, b, m)
	})

	t.Run("LockPathFromBundledWheels", func(t *testing.T) {
		// A bundle of another arch (the refusal's advice, see Refusals):
		// --from-lock installs its lock here, offline from its wheels.
		// (A --lock-only bundle takes the same path: see the unit tests.)
		arm := filepath.Join(t.TempDir(), "arm64.swrt")
		rsRewrite(t, b.swrt, arm, func(c map[string]any) { c["arch"] = "arm64" }, nil, nil)
		other := rsNewSandbox(t, t.TempDir())
		target := filepath.Join(t.TempDir(), "from-lock")
		res := other.restoreJSON(arm, "--target-dir", target, "--from-lock")
		assert.Equal(t, "lock", res.Path)
		prefix := filepath.Join(target, ".starwhale", "venv")
		for _, sc := range b.scripts {
			out := rsRunScript(t, filepath.Join(prefix, "bin", sc), t.TempDir(), other.home)
			assert.Contains(t, out, prefix)
		}
		r := other.ok("", "runtime", "run", target, "--", "python", "-m", "pip", "list", "--format=freeze")
		for _, p := range m.Lock {
			assert.Contains(t, strings.ToLower(r.stdout), strings.ToLower(p.Name)+"==", "restored env has %s", p.Name)
		}
	})

	t.Run("Extract", func(t *testing.T) {
		other := rsNewSandbox(t, t.TempDir())
		dir := filepath.Join(t.TempDir(), "x")
		r := other.ok("", "runtime", "extract", b.swrt, "--target-dir", dir)
		assert.Contains(t, r.stdout, dir)
		files := rsFiles(t, dir)
		assert.Contains(t, files, "runtime.yaml")
		assert.Contains(t, files, "requirements.txt")
		assert.Contains(t, files, filepath.Join("wheels", "rs_app-2.0-py3-none-any.whl"))
		assert.Contains(t, files, filepath.Join("wheels", "rs_lib-1.0-py3-none-any.whl"))
		hasLock := false
		for _, f := range files {
			if strings.HasPrefix(f, filepath.Join(".starwhale", "lock")+"/") {
				hasLock = true
			}
			assert.False(t, strings.HasPrefix(f, filepath.Join(".starwhale", "venv")), "extract writes no environment: %s", f)
		}
		assert.True(t, hasLock, "extract writes the lock: %v", files)
		spec, err := os.ReadFile(filepath.Join(dir, "runtime.yaml"))
		require.NoError(t, err)
		orig, err := os.ReadFile(filepath.Join(b.wd, "runtime.yaml"))
		require.NoError(t, err)
		assert.Equal(t, string(orig), string(spec))

		// Not over a non-empty folder without --force; flags after the URI.
		f := other.fail("", "runtime", "extract", b.swrt, "--target-dir", dir)
		assert.Contains(t, f.stderr, "--force")
		require.NoError(t, os.WriteFile(filepath.Join(dir, "stale.txt"), nil, 0o644))
		other.ok("", "runtime", "extract", "--force", b.swrt, "--target-dir", dir)
		_, err = os.Stat(filepath.Join(dir, "stale.txt"))
		assert.True(t, os.IsNotExist(err), "--force replaces the folder")

		// By URI from the store, default folder NAME-VERSION in the current folder.
		other.ok("", "runtime", "copy", b.swrt, "local/project/self")
		cwd := t.TempDir()
		r = other.ok(cwd, "-o", "json", "runtime", "extract", b.name)
		var res workflow.RestoreResult
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
		assert.Equal(t, filepath.Join(cwd, b.name+"-"+res.Version), res.Workdir)
		assert.Contains(t, rsFiles(t, res.Workdir), "runtime.yaml")
	})

	t.Run("Refusals", func(t *testing.T) {
		rsRefusals(t, b)
	})

	t.Run("RunAndActivateFile", func(t *testing.T) {
		// a .swrt file is restored into the cache on first use, once
		other := rsNewSandbox(t, t.TempDir())
		r := other.ok(t.TempDir(), "--verbose", "runtime", "run", b.swrt, "--", "rs-app-two")
		assert.Contains(t, r.stdout, "rs-app 2.0 "+filepath.Join(other.storage, "envs"))
		assert.Equal(t, 1, strings.Count(r.stderr, "[-m, venv"))
		r = other.ok(t.TempDir(), "--verbose", "runtime", "run", b.swrt, "--", "rs-lib")
		assert.Contains(t, r.stdout, "rs-lib 1.0 ")
		assert.NotContains(t, r.stderr, "[-m, venv", "the second run uses the cache")
		r = other.ok("", "runtime", "activate", "--print", "--shell", "bash", b.swrt)
		assert.Contains(t, r.stdout, filepath.Join(other.storage, "envs"))
	})

	t.Run("RunColdCacheConcurrentAndGC", func(t *testing.T) {
		other := rsNewSandbox(t, t.TempDir())
		other.ok("", "runtime", "copy", b.swrt, "local/project/self")
		const n = 4
		results := make([]rsResult, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = other.exec(t.TempDir(), "--verbose", "runtime", "run", b.name, "--", "rs-app")
			}()
		}
		wg.Wait()
		restores := 0
		for i, r := range results {
			require.Equal(t, 0, r.code, "run %d\n%s", i, r)
			assert.Contains(t, r.stdout, "rs-app 2.0 ", "run %d", i)
			// the plugin logs the venv it makes: only the one restore does
			restores += strings.Count(r.stderr, "[-m, venv")
		}
		assert.Equal(t, 1, restores, "one restore for %d concurrent cold runs", n)
		caches, err := os.ReadDir(filepath.Join(other.storage, "envs"))
		require.NoError(t, err)
		var dirs []string
		for _, c := range caches {
			if c.IsDir() {
				dirs = append(dirs, c.Name())
			}
		}
		require.Len(t, dirs, 1, "one cache folder per version")
		cache := filepath.Join(other.storage, "envs", dirs[0])
		st, err := workflow.ReadState(workflow.StatePathOf(cache, "venv"))
		require.NoError(t, err)
		require.NotNil(t, st)
		assert.Equal(t, workflow.StateReady, st.State)
		rsCheckPortable(t, b, m, cache, filepath.Join(cache, ".starwhale", "venv"), other.home)

		// warm: no plugin, no restore
		r := other.ok(t.TempDir(), "--verbose", "runtime", "run", b.name, "--", "rs-lib")
		assert.Contains(t, r.stdout, "rs-lib 1.0 ")
		assert.NotContains(t, r.stderr, "[-m, venv")

		// activate by URI prints the cached environment's activation
		r = other.ok("", "runtime", "activate", "--print", "--shell", "bash", b.name)
		assert.Contains(t, r.stdout, filepath.Join(cache, ".starwhale", "venv"))

		// gc keeps the cache of a live version, removes that of a removed one
		other.ok("", "runtime", "gc", "--grace", "0s")
		_, err = os.Stat(cache)
		require.NoError(t, err, "gc removed the cache of a live version")
		other.ok("", "runtime", "remove", "--force", b.name)
		other.ok("", "runtime", "gc", "--grace", "0s")
		_, err = os.Stat(cache)
		assert.True(t, os.IsNotExist(err), "gc left the cache of a removed version: %v", err)
	})
}

// rsRefusals: bad, corrupted and hostile bundles, another arch, a Python this
// machine lacks: one clear line, non-zero exit, nothing written.
func rsRefusals(t *testing.T, b rsBuilt) {
	s := rsNewSandbox(t, t.TempDir())
	dir := t.TempDir()
	data, err := os.ReadFile(b.swrt)
	require.NoError(t, err)

	// storage before: the store may make its folders, never leave files
	// (but the lock files of restore targets, which stay on purpose, and
	// complete entries of the unpacked-layer cache: intact layers unpacked
	// before the refusal was known; a fill in progress never stays)
	s.ok("", "runtime", "list")
	storageFiles := func() []string {
		var out []string
		for _, f := range rsFiles(t, s.storage) {
			// The caches of layers and of the interpreter (the venv mode's
			// probes and skeleton) may be filled before the refusal is
			// known; a fill in progress never stays.
			cache := strings.HasPrefix(f, "cache/layers/") || strings.HasPrefix(f, "cache/modes/")
			if cache && strings.Contains(f, "/tmp/") {
				out = append(out, f) // never expected
			}
			if !strings.HasPrefix(f, "locks/") && !cache {
				out = append(out, f)
			}
		}
		return out
	}
	before := storageFiles()

	check := func(t *testing.T, swrt string, wants ...string) rsResult {
		t.Helper()
		parent := filepath.Join(dir, "targets-"+filepath.Base(swrt))
		require.NoError(t, os.MkdirAll(parent, 0o755))
		target := filepath.Join(parent, "rt")
		r := s.fail("", "runtime", "restore", swrt, "--target-dir", target)
		for _, w := range wants {
			assert.Contains(t, r.stderr, w)
		}
		assert.Equal(t, 1, strings.Count(strings.TrimSpace(r.stderr), "\n")+1, "one line: %q", r.stderr)
		assert.Empty(t, rsFiles(t, parent), "a refused restore writes nothing in the target's folder")
		_, err := os.Stat(target)
		assert.True(t, os.IsNotExist(err), "target %s was made", target)
		assert.Equal(t, before, storageFiles(), "a refused restore leaves no file in the storage")
		return r
	}

	t.Run("NotABundle", func(t *testing.T) {
		p := filepath.Join(dir, "garbage.swrt")
		require.NoError(t, os.WriteFile(p, []byte("this is not a tar\n"), 0o644))
		check(t, p, p)
		check(t, filepath.Join(dir, "missing.swrt"), "missing.swrt")
	})
	t.Run("Truncated", func(t *testing.T) {
		p := filepath.Join(dir, "truncated.swrt")
		require.NoError(t, os.WriteFile(p, data[:len(data)/2], 0o644))
		check(t, p, p)
	})
	t.Run("Corrupted", func(t *testing.T) {
		// flip bytes inside the largest blob: a digest mismatch
		for _, at := range []int{len(data) / 3, len(data) * 2 / 3} {
			c := append([]byte(nil), data...)
			c[at] ^= 0xff
			p := filepath.Join(dir, fmt.Sprintf("corrupt-%d.swrt", at))
			require.NoError(t, os.WriteFile(p, c, 0o644))
			check(t, p, p)
		}
	})
	t.Run("HostileSWRT", func(t *testing.T) {
		var tb bytes.Buffer
		tw := tar.NewWriter(&tb)
		for _, n := range []string{"oci-layout", "../rs-escaped"} {
			require.NoError(t, tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: 2, Typeflag: tar.TypeReg}))
			_, _ = tw.Write([]byte("{}"))
		}
		require.NoError(t, tw.Close())
		p := filepath.Join(dir, "hostile.swrt")
		require.NoError(t, os.WriteFile(p, tb.Bytes(), 0o644))
		check(t, p, p)
		_, err := os.Stat(filepath.Join(s.storage, "..", "rs-escaped"))
		assert.True(t, os.IsNotExist(err))
	})
	t.Run("HostileLayers", func(t *testing.T) {
		outside := filepath.Join(dir, "outside")
		require.NoError(t, os.MkdirAll(outside, 0o755))
		cases := map[string][]rsEntry{
			"dotdot": {{name: "../../../rs-escaped", typ: tar.TypeReg, body: "x"}},
			"abs":    {{name: filepath.Join(outside, "abs"), typ: tar.TypeReg, body: "x"}},
			"symlink-out": {
				{name: "lib/rs-link", typ: tar.TypeSymlink, link: outside},
				{name: "lib/rs-link/pwned", typ: tar.TypeReg, body: "x"},
			},
			"symlink-up": {
				{name: "rs-up", typ: tar.TypeSymlink, link: "../../../../.."},
				{name: "rs-up/pwned", typ: tar.TypeReg, body: "x"},
			},
			"hardlink": {{name: "rs-hard", typ: tar.TypeLink, link: "/etc/passwd"}},
			"device":   {{name: "rs-dev", typ: tar.TypeChar}},
		}
		for name, entries := range cases {
			t.Run(name, func(t *testing.T) {
				desc, blob := rsLayer(t, bundle.RolePackage, "rs-evil==1.0",
					append([]rsEntry{{name: "lib/", typ: tar.TypeDir}, {name: "lib/ok.txt", typ: tar.TypeReg, body: "fine"}}, entries...)...)
				p := filepath.Join(dir, "hostile-layer-"+name+".swrt")
				rsRewrite(t, b.swrt, p, nil, func(ls []ocispec.Descriptor) []ocispec.Descriptor {
					return append(ls, desc)
				}, map[digest.Digest][]byte{desc.Digest: blob})
				check(t, p)
				assert.Empty(t, rsFiles(t, outside), "a hostile layer wrote outside its folder")
				_, err := os.Stat(filepath.Join(dir, "rs-escaped"))
				assert.True(t, os.IsNotExist(err))
			})
		}
	})
	t.Run("BadManifest", func(t *testing.T) {
		for name, edit := range map[string]func(map[string]any){
			"name":      func(c map[string]any) { c["name"] = "../../evil" },
			"mode":      func(c map[string]any) { c["mode"] = "../venv" },
			"spec-file": func(c map[string]any) { c["spec_file"] = "../../../etc/passwd" },
			"schema":    func(c map[string]any) { c["schema"] = 99 },
		} {
			t.Run(name, func(t *testing.T) {
				p := filepath.Join(dir, "bad-"+name+".swrt")
				rsRewrite(t, b.swrt, p, edit, nil, nil)
				check(t, p)
			})
		}
	})
	t.Run("OtherArch", func(t *testing.T) {
		p := filepath.Join(dir, "arm64.swrt")
		rsRewrite(t, b.swrt, p, func(c map[string]any) { c["arch"] = "arm64" }, nil, nil)
		r := check(t, p, "linux/arm64", "linux/amd64", "--from-lock")
		t.Log(r.stderr) // what it suggests (--from-lock) is LockPathFromBundledWheels
	})
	t.Run("OtherABI", func(t *testing.T) {
		// this machine's Python 3.11 is cp311; a free-threaded build's layers
		// cannot run on it
		p := filepath.Join(dir, "cp311t.swrt")
		rsRewrite(t, b.swrt, p, func(c map[string]any) { c["abi"] = "cp311t" }, nil, nil)
		r := check(t, p, "cp311t", "cp311 ", "--from-lock")
		t.Log(r.stderr)
	})
	t.Run("NoInterpreter", func(t *testing.T) {
		p := filepath.Join(dir, "py399.swrt")
		rsRewrite(t, b.swrt, p, func(c map[string]any) { c["python_version"] = "3.99"; c["python"] = "3.99.0" }, nil, nil)
		r := check(t, p, "Python 3.99", "found", rsPython, "install Python 3.99")
		t.Log(r.stderr)
	})
}

// rsOtherUser restores and runs the bundle as another uid, with Debian's
// /usr/bin/python3.X (a different interpreter, in another place, than the
// build's pyenv one) and another HOME.
func rsOtherUser(t *testing.T, b rsBuilt, m *workflow.Manifest) {
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot run a restore as another user (the other HOME and folder are covered by FastPathPortable)")
	}
	sysPy := "/usr/bin/python" + rsPython
	if out, err := exec.Command(sysPy, "-c", "import venv").CombinedOutput(); err != nil {
		t.Skipf("%s cannot make venvs (%v: %s): the other user would have no Python %s", sysPy, err, out, rsPython)
	}
	for _, tool := range []string{"useradd", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	const name = "rs-swcli-test"
	u, err := user.Lookup(name)
	if err != nil {
		out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput()
		if err != nil {
			t.Skipf("useradd %s: %v: %s", name, err, out)
		}
		t.Cleanup(func() { _ = exec.Command("userdel", name).Run() })
		u, err = user.Lookup(name)
		require.NoError(t, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)

	// A world-readable root (t.TempDir is 0700), owned by the user.
	root, err := os.MkdirTemp("", "rs-other-user-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(root) })
	require.NoError(t, os.Chmod(root, 0o755))
	bin := filepath.Join(root, "bin")
	require.NoError(t, os.MkdirAll(bin, 0o755))
	src := testbin.Dir(t)
	ents, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(bin, e.Name()), data, 0o755))
	}
	home := filepath.Join(root, "home")
	require.NoError(t, os.MkdirAll(home, 0o755))
	swrt := filepath.Join(home, "rt.swrt")
	data, err := os.ReadFile(b.swrt)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(swrt, data, 0o644))
	require.NoError(t, filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	}))

	env := []string{
		"PATH=/usr/bin:/bin", // Debian's python3.X, no pyenv
		"PYENV_ROOT=" + filepath.Join(root, "no-pyenv"),
		"HOME=" + home,
		"SW_LOCAL_STORAGE=" + filepath.Join(home, "storage"),
		"SW_CLI_CONFIG=" + filepath.Join(home, "config.yaml"),
		"PIP_INDEX_URL=" + deadIndex, "PIP_RETRIES=0", "PIP_TIMEOUT=5", "LANG=C.UTF-8",
	}
	as := func(dir string, args ...string) (string, error) {
		c := exec.Command("setpriv", append([]string{"--reuid=" + u.Uid, "--regid=" + u.Gid, "--clear-groups", "--"}, args...)...)
		c.Env, c.Dir = env, dir
		out, err := c.CombinedOutput()
		return string(out), err
	}
	out, err := as(home, "id", "-u")
	require.NoError(t, err, out)
	require.Equal(t, u.Uid, strings.TrimSpace(out))

	target := filepath.Join(home, "elsewhere", "rt")
	out, err = as(home, filepath.Join(bin, "swcli"), "-o", "json", "runtime", "restore", swrt, "--target-dir", target)
	require.NoError(t, err, out)
	var res workflow.RestoreResult
	require.NoError(t, json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &res), out)
	assert.Equal(t, "layers", res.Path)

	prefix := filepath.Join(target, ".starwhale", "venv")
	cfg, err := os.ReadFile(filepath.Join(prefix, "pyvenv.cfg"))
	require.NoError(t, err)
	assert.Contains(t, string(cfg), "home = /usr/bin", "the venv uses this machine's interpreter")
	st, err := os.Stat(filepath.Join(prefix, "bin", "rs-app"))
	require.NoError(t, err)
	assert.Equal(t, uint32(uid), st.Sys().(*syscall.Stat_t).Uid, "files belong to the user who restored")

	skip := map[string]bool{}
	if m.Relocation != nil {
		for _, f := range m.Relocation.BinaryFiles {
			skip[".starwhale/venv/"+f] = true
		}
	}
	assert.Empty(t, rsGrep(t, target, skip, b.wd, b.builder.home, mode.PrefixPlaceholder, mode.WorkdirPlaceholder))
	for _, sc := range rsConsoleScripts(t, prefix) {
		out, err := as("/", filepath.Join(prefix, "bin", sc), "--version")
		require.NoError(t, err, "%s as %s: %s", sc, name, out)
		if strings.HasPrefix(sc, "rs-") {
			assert.Contains(t, out, prefix)
		}
	}
	out, err = as("/", filepath.Join(bin, "swcli"), "runtime", "run", target, "--", "python", "-c", "import sys, rs_app; print(sys.version.split()[0], rs_app.__file__)")
	require.NoError(t, err, out)
	assert.Contains(t, out, prefix)
	t.Logf("as %s (uid %d): %s", name, uid, strings.TrimSpace(out))
}

// TestRestoreInterrupted kills a restore in the middle of unpacking a large
// layer (SIGKILL: state stays "restoring") and interrupts one (SIGINT: no
// plugin process left); running again completes both.
func TestRestoreInterrupted(t *testing.T) {
	root := t.TempDir()
	builder := rsNewSandbox(t, filepath.Join(root, "builder"))
	b := rsBuild(t, builder, root, "rs-big", 50)
	s := rsNewSandbox(t, filepath.Join(root, "other"))
	s.ok("", "runtime", "copy", b.swrt, "local/project/self")

	// startAndStop restores the stored version into target, killed or
	// interrupted by swcli's crash hook (SWCLI_TEST_KILL_AT) once the layers
	// are unpacked: at the start of the relocation, certainly mid-restore.
	startAndStop := func(t *testing.T, target string, sig syscall.Signal) rsResult {
		t.Helper()
		at := "relocate"
		if sig == syscall.SIGINT {
			at += "@INT"
		}
		var out, errb bytes.Buffer
		c := s.cmd(s.home, "runtime", "restore", b.name, "--target-dir", target)
		c.Env = append(append([]string{}, c.Env...), "SWCLI_TEST_KILL_AT="+at)
		c.Stdout, c.Stderr = &out, &errb
		err := c.Run()
		r := rsResult{stdout: out.String(), stderr: errb.String()}
		var ee *exec.ExitError
		if errorsAs(err, &ee) {
			r.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				r.code = 128 + int(ws.Signal())
			}
		}
		return r
	}

	t.Run("SIGKILL", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "killed")
		r := startAndStop(t, target, syscall.SIGKILL)
		require.Equal(t, 128+int(syscall.SIGKILL), r.code, r.String())
		st, err := workflow.ReadState(workflow.StatePathOf(target, "venv"))
		require.NoError(t, err)
		require.NotNil(t, st, "a killed restore leaves its state")
		require.Equal(t, workflow.StateRestoring, st.State, "killed mid-unpack: not ready")
		// run on the half-made folder refuses rather than using it
		f := s.fail("", "runtime", "run", target, "--", "python", "-V")
		assert.Contains(t, f.stderr, "not ready")
		// running again completes it
		s.waitNoProcesses(t, "after a killed or interrupted swcli")
		res := s.restoreJSON(b.name, "--target-dir", target)
		assert.Equal(t, "layers", res.Path)
		st, err = workflow.ReadState(workflow.StatePathOf(target, "venv"))
		require.NoError(t, err)
		assert.Equal(t, workflow.StateReady, st.State)
		fi, err := os.Stat(filepath.Join(res.Prefix, "lib", "python"+rsPython, "site-packages", "rs_big", "blob.bin"))
		require.NoError(t, err)
		assert.Equal(t, int64(50<<20), fi.Size())
		r2 := s.ok("", "runtime", "run", target, "--", "rs-app")
		assert.Contains(t, r2.stdout, "rs-app 2.0")
	})

	t.Run("SIGINT", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "interrupted")
		r := startAndStop(t, target, syscall.SIGINT)
		assert.Equal(t, 130, r.code, r.String())
		assert.Contains(t, r.stderr, "interrupted")
		s.waitNoProcesses(t, "after a killed or interrupted swcli")
		st, err := workflow.ReadState(workflow.StatePathOf(target, "venv"))
		require.NoError(t, err)
		require.NotNil(t, st, "an interrupted restore keeps its state")
		assert.Equal(t, workflow.StateRestoring, st.State, "an interrupted restore is not ready")
		res := s.restoreJSON(b.name, "--target-dir", target)
		assert.Equal(t, "layers", res.Path)
	})

	t.Run("KilledCacheRestoreRedoneByRun", func(t *testing.T) {
		// The same through the cache: run after a killed first run.
		c := s.cmd(t.TempDir(), "runtime", "run", b.name, "--", "rs-app")
		c.Env = append(append([]string{}, c.Env...), "SWCLI_TEST_KILL_AT=relocate")
		err := c.Run()
		var ee *exec.ExitError
		require.True(t, errorsAs(err, &ee), "killed: %v", err)
		ws, ok := ee.Sys().(syscall.WaitStatus)
		require.True(t, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL, "killed by the hook: %v", err)
		s.waitNoProcesses(t, "after a killed or interrupted swcli")
		r := s.ok(t.TempDir(), "runtime", "run", b.name, "--", "rs-app")
		assert.Contains(t, r.stdout, "rs-app 2.0")
	})
}
