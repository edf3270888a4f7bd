package main_test

// End-to-end tests: they exec the built swcli (internal/testbin) with HOME,
// SW_LOCAL_STORAGE and SW_CLI_CONFIG pointed into temporary folders, real
// Python interpreters and real pip, and no network: wheels are built by the
// tests (sdk/testpy) and installed from a folder or from a PEP 503 index on
// 127.0.0.1. PIP_INDEX_URL points at a closed local port, so a test that
// would reach for PyPI fails fast instead.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/swcli/swcli/internal/testbin"
	"github.com/swcli/swcli/sdk/testpy"
)

// deadIndex is where pip would look without configs.pip: a closed port.
const deadIndex = "http://127.0.0.1:9/simple/"

var realPyenvRoot = testpy.PyenvRoot()

// cli is a sandboxed swcli: its own HOME, storage, config and a tag in the
// environment by which every process it starts (plugins, pip) can be found.
type cli struct {
	t    *testing.T
	bin  string
	home string
	tag  string
	env  []string
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	return newCLIAt(t, t.TempDir())
}

// newCLIAt is newCLI with its HOME at home (an existing folder).
func newCLIAt(t *testing.T, home string) *cli {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	c := &cli{t: t, bin: testbin.SWCLI(t), home: home, tag: hex.EncodeToString(b[:])}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "HOME", k == "SW_LOCAL_STORAGE", k == "SW_CLI_CONFIG", k == "SW_PLUGINS",
			k == "SW_LOG_LEVEL", k == "VIRTUAL_ENV", k == "PYTHONHOME", k == "PYTHONPATH", k == "CONDA_PREFIX",
			k == "ZDOTDIR", k == "ENV", strings.HasPrefix(k, "PIP_"):
			continue
		}
		c.env = append(c.env, kv)
	}
	c.env = append(c.env,
		"HOME="+home,
		"SW_LOCAL_STORAGE="+filepath.Join(home, "storage"),
		"SW_CLI_CONFIG="+filepath.Join(home, "config", "config.yaml"),
		"PYENV_ROOT="+realPyenvRoot,
		"PIP_INDEX_URL="+deadIndex,
		"PIP_RETRIES=0",
		"PIP_TIMEOUT=5",
		"PIP_NO_CACHE_DIR=1",
		"PIP_DISABLE_PIP_VERSION_CHECK=1",
		"SWCLI_TEST_TAG="+c.tag,
	)
	return c
}

// setenv adds or replaces variables of the sandbox.
func (c *cli) setenv(kvs ...string) {
	for _, kv := range kvs {
		k, _, _ := strings.Cut(kv, "=")
		out := c.env[:0:0]
		for _, e := range c.env {
			if !strings.HasPrefix(e, k+"=") {
				out = append(out, e)
			}
		}
		c.env = append(out, kv)
	}
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// command makes an exec.Cmd for swcli args in the sandbox.
func (c *cli) command(args ...string) *exec.Cmd {
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env
	cmd.Dir = c.home
	return cmd
}

// run runs swcli with stdin (may be empty) and returns what it did, then
// checks it left no process behind.
func (c *cli) runIn(stdin string, args ...string) result {
	c.t.Helper()
	r := c.runAt(c.home, stdin, args...)
	c.assertNoProcesses("after swcli " + strings.Join(args, " "))
	return r
}

// runAt runs swcli in dir with stdin (may be empty) and returns what it did.
func (c *cli) runAt(dir, stdin string, args ...string) result {
	c.t.Helper()
	cmd := c.command(args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("swcli %v: %v", args, err)
	}
	return r
}

func (c *cli) run(args ...string) result {
	c.t.Helper()
	return c.runIn("", args...)
}

// ok runs swcli and fails the test unless it exits 0.
func (c *cli) ok(args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	require.Equal(c.t, 0, r.code, "swcli %s\n%s", strings.Join(args, " "), r)
	return r
}

// fail runs swcli, expects a non-zero exit and one line on stderr holding
// every want, and returns that line.
func (c *cli) fail(wants []string, args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	require.NotEqual(c.t, 0, r.code, "swcli %s should fail\n%s", strings.Join(args, " "), r)
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	assert.Len(c.t, lines, 1, "one line on stderr:\n%s", r.stderr)
	assert.True(c.t, strings.HasPrefix(lines[0], "swcli: "), "stderr: %s", r.stderr)
	for _, w := range wants {
		assert.Contains(c.t, r.stderr, w)
	}
	assert.NotContains(c.t, r.stderr, "goroutine ", "no stack traces without --verbose")
	return lines[0]
}

// tagged lists the processes (pid: command line) that carry this sandbox's
// tag in their environment: swcli, its plugins and their children.
func (c *cli) tagged() map[int]string {
	want := []byte("SWCLI_TEST_TAG=" + c.tag + "\x00")
	out := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, want) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			s := string(st)
			if i := strings.LastIndexByte(s, ')'); i > 0 && i+2 < len(s) && s[i+2] == 'Z' {
				continue // a zombie is gone, only not yet reaped
			}
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out[pid] = strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return out
}

// assertNoProcesses waits for every tagged process to go, then fails naming
// those left (and kills them, so they do not outlive the test).
func (c *cli) assertNoProcesses(when string) { c.waitNoProcesses(c.t, when) }

// waitNoProcesses is assertNoProcesses reporting to t (a subtest). It waits
// on the processes' exits themselves (a pidfd of each becomes readable when
// it exits, whoever its parent is), for as long as the test may still run
// (its -timeout deadline, less a margin to report), and looks again after
// each round for processes started meanwhile.
func (c *cli) waitNoProcesses(t *testing.T, when string) {
	t.Helper()
	left := c.tagged()
	for len(left) > 0 {
		if !waitExits(t, left) {
			break
		}
		left = c.tagged()
	}
	assert.Empty(t, left, "processes left behind %s", when)
	for pid := range left {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	}
}

// waitExits waits until every process of pids has exited, or the test's
// deadline (less a margin) has come; it says whether they all exited. A
// process that is gone before its pidfd is opened counts as exited. With no
// deadline (-timeout 0) it waits as long as it takes.
func waitExits(t *testing.T, pids map[int]string) bool {
	t.Helper()
	dl, bounded := t.Deadline()
	dl = dl.Add(-15 * time.Second)
	var fds []unix.PollFd
	for pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			if errors.Is(err, unix.ESRCH) {
				continue
			}
			t.Fatalf("pidfd_open %d: %v", pid, err)
		}
		defer unix.Close(fd)
		fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
	}
	for exited := 0; exited < len(fds); {
		timeout := -1 // poll(2): no bound
		if bounded {
			if timeout = int(time.Until(dl) / time.Millisecond); timeout <= 0 {
				return false
			}
		}
		n, err := unix.Poll(fds, timeout)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("poll on pidfds: %v", err)
		}
		if n == 0 {
			return false // the deadline came first
		}
		for i := range fds {
			if fds[i].Revents != 0 {
				fds[i].Fd, exited = -1, exited+1 // poll skips negative fds
			}
		}
	}
	return true
}

// failedPipKeepsEnv marks the venv of wd, makes its requirements fail (a
// package no folder has), runs args (a command that replaces the
// environment: create --force, build --no-cache) and checks that it fails
// and puts the old environment back, which still runs Python xy. It
// returns the marker's path.
func failedPipKeepsEnv(t *testing.T, c *cli, wd, xy string, args ...string) string {
	t.Helper()
	marker := filepath.Join(wd, ".starwhale", "venv", "marker")
	write(t, marker, "old env")
	write(t, filepath.Join(wd, "requirements.txt"), "--no-index\nno-such-package==9.9\n")
	before := tree(t, wd)
	c.fail([]string{"failed", "no-such-package"}, args...)
	sameTree(t, before, tree(t, wd), "the old environment is put back")
	assert.Equal(t, xy, c.py(wd, "import sys; print('%d.%d' % sys.version_info[:2])"), "and still runs")
	return marker
}

// tree is a snapshot of a folder: relative path -> size, mode and mtime
// (mode only for folders).
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[rel] = info.Mode().String() // entries made and removed again change a folder's mtime
		} else {
			out[rel] = fmt.Sprintf("%d %v %d", info.Size(), info.Mode(), info.ModTime().UnixNano())
		}
		return nil
	})
	return out
}

// sameTree fails listing (at most 10 of) the paths that differ.
func sameTree(t *testing.T, before, after map[string]string, msg string) {
	t.Helper()
	var diff []string
	for k, v := range before {
		if w, ok := after[k]; !ok {
			diff = append(diff, "removed "+k)
		} else if w != v {
			diff = append(diff, "changed "+k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			diff = append(diff, "added "+k)
		}
	}
	sort.Strings(diff)
	if len(diff) > 10 {
		diff = append(diff[:10], fmt.Sprintf("... and %d more", len(diff)-10))
	}
	assert.Empty(t, diff, msg)
}

func keys(m map[string]string) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

func write(t *testing.T, path, body string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
}

// wheel builds a tiny wheel named name 1.0 into dir and returns its path.
func wheel(t *testing.T, dir, name string) string {
	t.Helper()
	p, err := testpy.BuildWheel(dir, testpy.Wheel{Name: name, Version: "1.0"})
	require.NoError(t, err)
	return p
}

// pythons returns two interpreters of distinct X.Y, fastest first, or skips.
func pythons(t *testing.T) []testpy.Python {
	t.Helper()
	return testpy.AnyPythons(t, 2)
}

// pyExpr runs python -c in the runtime of wd and returns its stdout.
func (c *cli) py(wd, code string) string {
	c.t.Helper()
	r := c.ok("runtime", "run", wd, "--", "python", "-c", code)
	return strings.TrimSpace(r.stdout)
}

// fixture is a ready runtime shared by the tests that only read it: seed
// form, Python pythons()[0], with a wheel installed from a folder through
// requirements.txt (--no-index --find-links wheels).
type fixture struct {
	wd, prefix, python string
}

var (
	fixOnce sync.Once
	fix     fixture
	fixErr  string
	fixDirs []string
)

const fixtureName = "fixture-rt"

func sharedRuntime(t *testing.T) fixture {
	t.Helper()
	py := pythons(t)[0]
	fixOnce.Do(func() {
		dir, err := os.MkdirTemp("", "swcli-e2e-fixture-")
		if err != nil {
			fixErr = err.Error()
			return
		}
		fixDirs = append(fixDirs, dir)
		wd := filepath.Join(dir, "work dir") // a space, to catch quoting bugs
		wheel(t, filepath.Join(wd, "wheels"), "tiny-folder")
		write(t, filepath.Join(wd, "requirements.txt"), "--no-index\n--find-links wheels\ntiny-folder==1.0\n")
		c := newCLI(t)
		r := c.run("runtime", "create", "--name", fixtureName, "--python", py.Version, wd)
		if r.code != 0 {
			fixErr = r.String()
			return
		}
		fix = fixture{wd: wd, prefix: filepath.Join(wd, ".starwhale", "venv"), python: py.Version}
	})
	if fixErr != "" {
		t.Fatalf("creating the shared runtime: %s", fixErr)
	}
	return fix
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range fixDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}
