package main_test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const prefixProbe = `python -c "import sys; print('PREFIX=' + sys.prefix)"`

// The printed activation script, evaluated by the real shell, puts the
// environment's python first: sys.prefix is the environment's prefix.
func TestActivatePrintEval(t *testing.T) {
	t.Parallel()
	f := sharedRuntime(t)
	for _, sh := range []string{"bash", "zsh", "fish", "sh"} {
		t.Run(sh, func(t *testing.T) {
			t.Parallel()
			bin, err := exec.LookPath(sh)
			if err != nil {
				t.Skipf("%s is not installed (make deps installs it)", sh)
			}
			c := newCLI(t)
			c.setenv("SHELL=/bin/" + sh)
			// --print with --shell, and the default shell from $SHELL
			// when stdout is not a terminal.
			explicit := c.ok("runtime", "activate", f.wd, "--print", "--shell", sh).stdout
			implicit := c.ok("runtime", "activate", f.wd).stdout
			assert.Equal(t, explicit, implicit)

			script := explicit + "\n" + prefixProbe + "\necho VENV=$VIRTUAL_ENV\n"
			cmd := exec.Command(bin, "-c", script)
			cmd.Env = c.env
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s\nscript:\n%s", out, script)
			assert.Contains(t, string(out), "PREFIX="+f.prefix+"\n")
			assert.Contains(t, string(out), "VENV="+f.prefix+"\n")
		})
	}
}

// ptyShell drives an interactive `swcli runtime activate` through a
// pseudo-terminal.
type ptyShell struct {
	t   *testing.T
	cmd *exec.Cmd
	tty *os.File
	mu  sync.Mutex
	out bytes.Buffer
	eof chan struct{}
}

func startPty(t *testing.T, cmd *exec.Cmd) *ptyShell {
	t.Helper()
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	require.NoError(t, err)
	p := &ptyShell{t: t, cmd: cmd, tty: tty, eof: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				close(p.eof)
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		tty.Close()
	})
	return p
}

func (p *ptyShell) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// expect waits until the output after position from holds want, and
// returns the position after it.
func (p *ptyShell) expect(from int, want string) int {
	p.t.Helper()
	for {
		out := p.output()
		if from <= len(out) {
			if i := strings.Index(out[from:], want); i >= 0 {
				return from + i + len(want)
			}
		}
		select {
		case <-p.eof:
			if out := p.output(); from <= len(out) && strings.Contains(out[from:], want) {
				continue
			}
			p.t.Fatalf("the terminal closed before %q; terminal output:\n%s", want, p.output())
			return 0
		case <-time.After(20 * time.Millisecond): // poll the output again
		}
	}
}

func (p *ptyShell) send(s string) {
	_, err := io.WriteString(p.tty, s)
	require.NoError(p.t, err)
}

// wait waits for swcli to exit and returns its exit code.
func (p *ptyShell) wait() int {
	p.t.Helper()
	err := p.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	require.NoError(p.t, err)
	return 0
}

// On a terminal, activate starts a subshell with the environment active and
// the runtime name in the prompt; no plugin runs while the user works; exit
// returns with the subshell's exit code.
func TestActivateSubshell(t *testing.T) {
	t.Parallel()
	f := sharedRuntime(t)
	for _, sh := range []string{"bash", "zsh", "sh", "fish"} {
		t.Run(sh, func(t *testing.T) {
			t.Parallel()
			if _, err := exec.LookPath(sh); err != nil {
				t.Skipf("%s is not installed (make deps installs it)", sh)
			}
			c := newCLI(t)
			c.setenv("SHELL=/bin/"+sh, "TERM=dumb", "PS1=swtest$ ")
			// fish's first start in a fresh HOME generates completions from
			// man pages in the background; it has nothing to do with swcli.
			require.NoError(t, os.MkdirAll(c.home+"/.local/share/fish/generated_completions", 0o755))
			p := startPty(t, c.command("runtime", "activate", f.wd))

			pos := p.expect(0, "("+fixtureName+") ")
			for pid, cmdline := range c.tagged() {
				assert.NotContains(t, cmdline, "swcli-plugin-", "no plugin runs in the subshell (pid %d)", pid)
			}
			p.send(prefixProbe + "\n")
			pos = p.expect(pos, "PREFIX="+f.prefix)
			p.send("echo SW=$SW_ACTIVE_RUNTIME\n")
			p.expect(pos, "SW="+fixtureName)
			p.send("exit 3\n")
			assert.Equal(t, 3, p.wait(), "the subshell's exit code comes back; output:\n%s", p.output())
			c.assertNoProcesses("after the subshell")
		})
	}
}
