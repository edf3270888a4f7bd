package workflow

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/swcli/swcli/core/mode"
)

// RunError says the command could not be started.
type RunError struct {
	Cmd string
	Err error
}

func (e *RunError) Error() string { return fmt.Sprintf("cannot run %s: %v", e.Cmd, e.Err) }

// Command makes the command that runs argv inside the target environment,
// with extra ("KEY=VALUE") added to its environment, without starting it;
// the caller sets its standard streams and process attributes. An error
// comes with the exit code a shell would give (2 nothing to run, 127 not
// found, 1 otherwise).
func (s *Service) Command(ctx context.Context, t *Target, argv []string, extra []string) (*exec.Cmd, int, error) {
	if len(argv) == 0 {
		return nil, 2, usagef("nothing to run: give a command after --, e.g. swcli runtime run %s -- python -V", t.Workdir)
	}
	vars, unset, script := t.State.Vars, t.State.Unset, t.State.Script
	if len(vars) == 0 {
		act, err := s.Activation(ctx, t, "sh")
		if err != nil {
			return nil, 1, err
		}
		vars, unset, script = act.Vars, act.Unset, scriptIf(act)
	}
	env := append(ApplyEnv(os.Environ(), vars, unset), extra...)
	if script != "" {
		// The activation needs its script (activate.d): run through sh.
		argv = append([]string{"/bin/sh", "-c", script + "\nexec \"$@\"", "sh"}, argv...)
	}
	path := argv[0]
	if !strings.ContainsRune(path, '/') {
		p, err := lookPath(path, env)
		if err != nil {
			return nil, 127, &RunError{Cmd: argv[0], Err: errors.New("command not found in the environment or on PATH")}
		}
		path = p
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Env = env
	return cmd, 0, nil
}

// Run runs argv inside the target environment with stdin, stdout and stderr
// attached, and returns the command's exit code (128+N when killed by signal
// N). Signals sent to swcli are passed on to the command.
func (s *Service) Run(ctx context.Context, t *Target, argv []string) (int, error) {
	cmd, code, err := s.Command(ctx, t, argv, nil)
	if err != nil {
		return code, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 126, &RunError{Cmd: argv[0], Err: err}
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sg := <-sigs:
				_ = cmd.Process.Signal(sg)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	if code, ok := ExitCode(err); ok {
		return code, nil
	}
	return 1, &RunError{Cmd: argv[0], Err: err}
}

// ExitCode is the exit code of a command whose Wait returned err: 0 for
// nil, the code it exited with, 128+N when killed by signal N; false when
// err is not an exit (the command was not waited for properly).
func ExitCode(err error) (int, bool) {
	if err == nil {
		return 0, true
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), true
		}
		return ee.ExitCode(), true
	}
	return 0, false
}

func lookPath(name string, env []string) (string, error) {
	var path string
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			path = kv[5:]
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// scriptIf keeps the sh script of an activation that needs it.
func scriptIf(act mode.Activation) string {
	if act.ScriptRequired {
		return act.Script
	}
	return ""
}
