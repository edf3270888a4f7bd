package pyenv

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/swcli/swcli/core/mode"
)

// RunTool runs a tool in its own process group (so canceling ctx kills it and
// its children), streams its output as info events, and turns a failure into
// an ErrToolFailed *mode.Error: a one-line message (pip's last "ERROR:"
// line, or the last line) with the output's tail in Detail.
func RunTool(ctx context.Context, ev mode.Events, dir string, env []string, what, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var tail []string
	lastErr := ""
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			ev.Emit(mode.Event{Level: "info", Message: line})
			if tail = append(tail, line); len(tail) > 40 {
				tail = tail[1:]
			}
			if strings.HasPrefix(line, "ERROR:") {
				lastErr = line
			}
		}
		io.Copy(io.Discard, pr)
	}()
	err := cmd.Run()
	pw.Close()
	wg.Wait()
	if err == nil {
		return nil
	}
	msg := lastErr
	switch {
	case ctx.Err() != nil:
		msg = ctx.Err().Error()
	case msg == "" && len(tail) > 0:
		msg = tail[len(tail)-1]
	case msg == "":
		msg = err.Error()
	}
	return &mode.Error{Code: mode.ErrToolFailed, Message: what + " failed: " + msg, Detail: strings.Join(tail, "\n")}
}
