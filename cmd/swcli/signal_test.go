package main_test

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hangingIndex is a package index on 127.0.0.1 that never answers: pip
// waits on it, so an install is "long" for as long as the test wants. got
// is closed at the first request (pip is running by then).
func hangingIndex(t *testing.T) (url string, got chan struct{}) {
	t.Helper()
	got = make(chan struct{})
	stop := make(chan struct{})
	first := true
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if first {
			first = false
			close(got)
		}
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.Listener = l
	s.Config.SetKeepAlivesEnabled(false)
	s.Start()
	t.Cleanup(func() { close(stop); s.CloseClientConnections(); s.Close() })
	return s.URL + "/simple/", got
}

// startLongCreate starts `swcli runtime create` on a workdir whose only
// dependency comes from a hanging index, and returns once pip is waiting.
func startLongCreate(t *testing.T, c *cli, wd string) (pid int, stderr *bytes.Buffer, wait func() (int, error)) {
	t.Helper()
	url, got := hangingIndex(t)
	py := pythons(t)[0]
	write(t, filepath.Join(wd, "runtime.yaml"), "name: slow\npython_version: \""+py.Version+"\"\nconfigs:\n  pip:\n    index_url: "+url+"\ndependencies:\n  - pip: [slow-package]\n")
	c.setenv("PIP_TIMEOUT=300")
	cmd := c.command("runtime", "create", wd)
	// Its own process group, as a terminal's foreground job: Ctrl-C is
	// SIGINT to the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr = &bytes.Buffer{}
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	select {
	case <-got:
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("pip never asked the index; stderr:\n%s", stderr.String())
	}
	procs := c.tagged()
	var plugin, pip bool
	for _, cl := range procs {
		plugin = plugin || strings.Contains(cl, "swcli-plugin-venv")
		pip = pip || strings.Contains(cl, "-m pip install")
	}
	require.True(t, plugin && pip, "the plugin and pip run: %v", procs)
	wait = func() (int, error) {
		err := cmd.Wait()
		if ee, ok := err.(interface{ ExitCode() int }); ok && err != nil {
			return ee.ExitCode(), nil
		}
		return 0, err
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd.Process.Pid, stderr, wait
}

// Ctrl-C during a long pip install (SIGINT to swcli's process group, as a
// terminal sends it): swcli stops the plugin and pip, puts the
// workdir back as it was and exits 130.
func TestInterruptDuringInstall(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	wd := t.TempDir()
	write(t, filepath.Join(wd, "runtime.yaml"), "placeholder")
	pid, stderr, wait := startLongCreate(t, c, wd)
	before := tree(t, wd)
	delete(before, ".starwhale") // the environment being made
	for k := range before {
		if strings.HasPrefix(k, ".starwhale/") {
			delete(before, k)
		}
	}

	require.NoError(t, syscall.Kill(-pid, syscall.SIGINT)) // Ctrl-C: the whole foreground group
	code, err := wait()
	require.NoError(t, err)
	assert.Equal(t, 130, code, stderr.String())
	assert.Equal(t, "swcli: interrupted\n", stderr.String())
	c.assertNoProcesses("after SIGINT")
	sameTree(t, before, tree(t, wd), "an interrupted create leaves the workdir as it was")
}

// swcli killed with SIGKILL during a long pip install: the plugin notices
// its parent is gone and takes pip with it; the half-made environment is not
// marked ready.
func TestKillDuringInstall(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	wd := t.TempDir()
	pid, _, wait := startLongCreate(t, c, wd)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	_, _ = wait()
	c.assertNoProcesses("after SIGKILL")
	c.fail([]string{"not ready", `state "creating"`, "--force"}, "runtime", "run", wd, "--", "python", "-V")

	// Running create again makes the half-made environment again, no
	// --force needed. On a terminal it shows its progress and pip's lines.
	py := pythons(t)[0]
	whl := wheel(t, filepath.Join(wd, "wheels"), "tiny-again")
	write(t, filepath.Join(wd, "runtime.yaml"), "name: slow\npython_version: \""+py.Version+"\"\ndependencies:\n  - wheels: [wheels/"+filepath.Base(whl)+"]\n")
	p := startPty(t, c.command("runtime", "create", wd))
	assert.Equal(t, 0, p.wait(), p.output())
	<-p.eof
	out := p.output()
	assert.Contains(t, out, "create environment", "progress on a terminal")
	assert.Contains(t, out, "install", "progress on a terminal")
	assert.Contains(t, out, "created runtime slow")
	assert.Equal(t, "1.0", c.py(wd, "import tiny_again; print(tiny_again.__version__)"))
}
