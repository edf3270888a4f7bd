package venvmode

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/pyenv"
)

// tailLines is how many output lines a failure carries in Error.Detail.
const tailLines = 40

// command is one tool run.
type command struct {
	name string
	args []string
	dir  string
	env  []string // full environment; nil means pyenv.BaseEnv()
	// what names the step in a failure message ("pip install -r requirements.txt").
	what  string
	stdin io.Reader
}

// result is what a finished command left behind.
type result struct {
	tail      []string // last lines of stdout+stderr, in order
	lastError string   // pip's last "ERROR: ..." line
	stdout    bytes.Buffer
}

// run runs c in its own process group, streaming every output line to ev as
// an info event (when stream is set; otherwise stdout is captured), and
// returns a *mode.Error with code ErrToolFailed when it fails.
func (m *Mode) run(ctx context.Context, c command, ev mode.Events, stream bool) (*result, error) {
	cmd := exec.CommandContext(ctx, c.name, c.args...)
	cmd.Dir = c.dir
	cmd.Env = c.env
	if cmd.Env == nil {
		cmd.Env = pyenv.BaseEnv()
	}
	cmd.Stdin = c.stdin
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second
	m.log.Debug("run", "cmd", c.name, "args", c.args, "dir", c.dir)

	res := &result{}
	var mu sync.Mutex
	add := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		res.tail = append(res.tail, line)
		if len(res.tail) > tailLines {
			res.tail = res.tail[len(res.tail)-tailLines:]
		}
		if strings.HasPrefix(strings.TrimSpace(line), "ERROR:") {
			res.lastError = strings.TrimSpace(line)
		}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, mode.Errorf(mode.ErrInternal, "%s: %v", c.what, err)
	}
	var stdout io.ReadCloser
	if stream {
		if stdout, err = cmd.StdoutPipe(); err != nil {
			return nil, mode.Errorf(mode.ErrInternal, "%s: %v", c.what, err)
		}
	} else {
		cmd.Stdout = &res.stdout
	}
	if err := cmd.Start(); err != nil {
		return nil, &mode.Error{Code: mode.ErrNoTool, Message: fmt.Sprintf("%s: cannot start %s: %v", c.what, c.name, err)}
	}
	var wg sync.WaitGroup
	scan := func(r io.Reader, level string) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			add(line)
			if line != "" {
				ev.Emit(mode.Event{Level: level, Message: line})
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}
	wg.Add(1)
	go scan(stderr, "info")
	if stream {
		wg.Add(1)
		go scan(stdout, "info")
	}
	wg.Wait()
	err = cmd.Wait()
	if err == nil {
		return res, nil
	}
	if ctx.Err() != nil {
		return res, &mode.Error{Code: mode.ErrToolFailed, Message: fmt.Sprintf("%s: %v", c.what, ctx.Err()), Detail: strings.Join(res.tail, "\n")}
	}
	msg := res.lastError
	if msg == "" {
		for i := len(res.tail) - 1; i >= 0; i-- {
			if s := strings.TrimSpace(res.tail[i]); s != "" {
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
	return res, &mode.Error{Code: mode.ErrToolFailed, Message: c.what + " failed: " + msg, Detail: strings.Join(res.tail, "\n")}
}

// activatedEnv is baseEnv with the environment at prefix activated:
// VIRTUAL_ENV set, prefix/bin first on PATH, PYTHONHOME unset.
func activatedEnv(prefix string) []string {
	var out []string
	path := ""
	for _, kv := range pyenv.BaseEnv() {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "VIRTUAL_ENV":
			continue
		case "PATH":
			path = v
			continue
		}
		out = append(out, kv)
	}
	bin := filepath.Join(prefix, "bin")
	if path != "" {
		bin += string(os.PathListSeparator) + path
	}
	return append(out, "VIRTUAL_ENV="+prefix, "PATH="+bin)
}
