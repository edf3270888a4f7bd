package pyenv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/swcli/swcli/core/mode"
)

// tailLines is how many output lines a failure carries in Error.Detail.
const tailLines = 40

// Command is one tool run by Run.
type Command struct {
	Name string
	Args []string
	Dir  string
	// Env is the full environment; nil means BaseEnv().
	Env []string
	// What names the step in a failure message ("pip install -r requirements.txt").
	What  string
	Stdin io.Reader
	// Capture keeps standard output in Result.Stdout instead of streaming
	// it as events (standard error is streamed either way).
	Capture bool
}

// Result is what a finished command left behind.
type Result struct {
	Tail      []string // the last lines of its output, in order
	LastError string   // pip's last "ERROR: ..." line
	Stdout    bytes.Buffer
}

// Run runs c in its own process group (so canceling ctx kills it and every
// process it started), streams each output line to ev as an info event,
// and turns a failure into a *mode.Error: ErrNoTool when it cannot start,
// else ErrToolFailed with a one-line message (pip's last "ERROR:" line, or
// the last line) and the output's tail in Detail. It is the one tool
// runner of the Python modes.
func Run(ctx context.Context, c Command, ev mode.Events) (*Result, error) {
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	if cmd.Env == nil {
		cmd.Env = BaseEnv()
	}
	cmd.Stdin = c.Stdin
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second

	res := &Result{}
	var mu sync.Mutex
	add := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		res.Tail = append(res.Tail, line)
		if len(res.Tail) > tailLines {
			res.Tail = res.Tail[len(res.Tail)-tailLines:]
		}
		if strings.HasPrefix(strings.TrimSpace(line), "ERROR:") {
			res.LastError = strings.TrimSpace(line)
		}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, mode.Errorf(mode.ErrInternal, "%s: %v", c.What, err)
	}
	var stdout io.ReadCloser
	if c.Capture {
		cmd.Stdout = &res.Stdout
	} else if stdout, err = cmd.StdoutPipe(); err != nil {
		return nil, mode.Errorf(mode.ErrInternal, "%s: %v", c.What, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, &mode.Error{Code: mode.ErrNoTool, Message: fmt.Sprintf("%s: cannot start %s: %v", c.What, c.Name, err)}
	}
	var wg sync.WaitGroup
	scan := func(r io.Reader) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			add(line)
			if line != "" {
				ev.Emit(mode.Event{Level: "info", Message: line})
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}
	wg.Add(1)
	go scan(stderr)
	if stdout != nil {
		wg.Add(1)
		go scan(stdout)
	}
	wg.Wait()
	err = cmd.Wait()
	if err == nil {
		return res, nil
	}
	if ctx.Err() != nil {
		return res, &mode.Error{Code: mode.ErrToolFailed, Message: fmt.Sprintf("%s: %v", c.What, ctx.Err()), Detail: strings.Join(res.Tail, "\n")}
	}
	msg := res.LastError
	if msg == "" {
		for i := len(res.Tail) - 1; i >= 0; i-- {
			if s := strings.TrimSpace(res.Tail[i]); s != "" {
				msg = s
				break
			}
		}
	}
	if msg == "" {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg = ee.String()
		} else {
			msg = err.Error()
		}
	}
	return res, &mode.Error{Code: mode.ErrToolFailed, Message: c.What + " failed: " + msg, Detail: strings.Join(res.Tail, "\n")}
}

// RunTool is Run with every output line streamed: the short form for a
// tool whose output is only shown.
func RunTool(ctx context.Context, ev mode.Events, dir string, env []string, what, name string, args ...string) error {
	_, err := Run(ctx, Command{Name: name, Args: args, Dir: dir, Env: env, What: what}, ev)
	return err
}
