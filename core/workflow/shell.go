package workflow

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// Subshell starts an interactive shell with the activation script applied and
// the runtime name in the prompt; exiting it returns to the caller's shell.
// It returns the shell's exit code.
func Subshell(shell, script, name string) (int, error) {
	if shell == "" {
		shell = DefaultShell()
	}
	bin, err := exec.LookPath(shell)
	if err != nil {
		return 1, fmt.Errorf("cannot start a %s subshell: %s not found on PATH (use --print and eval the output instead)", shell, shell)
	}
	tmp, err := os.MkdirTemp("", "swcli-activate-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(tmp)
	home, _ := os.UserHomeDir()
	env := append(os.Environ(), "SW_ACTIVE_RUNTIME="+name)
	var args []string
	switch shell {
	case "bash":
		rc := filepath.Join(tmp, "bashrc")
		body := fmt.Sprintf("[ -f %q ] && . %q\n%s\n", filepath.Join(home, ".bashrc"), filepath.Join(home, ".bashrc"), script)
		if err := os.WriteFile(rc, []byte(body), 0o600); err != nil {
			return 1, err
		}
		args = []string{"--rcfile", rc, "-i"}
	case "zsh":
		zdot := os.Getenv("ZDOTDIR")
		if zdot == "" {
			zdot = home
		}
		body := fmt.Sprintf("[ -f %q ] && . %q\n%s\n", filepath.Join(zdot, ".zshrc"), filepath.Join(zdot, ".zshrc"), script)
		if err := os.WriteFile(filepath.Join(tmp, ".zshrc"), []byte(body), 0o600); err != nil {
			return 1, err
		}
		env = append(env, "ZDOTDIR="+tmp)
		args = []string{"-i"}
	case "fish":
		args = []string{"-i", "-C", script}
	case "sh":
		rc := filepath.Join(tmp, "shrc")
		if err := os.WriteFile(rc, []byte(script+"\n"), 0o600); err != nil {
			return 1, err
		}
		env = append(env, "ENV="+rc)
		args = []string{"-i"}
	default:
		return 1, usagef("--shell %q is not supported; allowed: bash, zsh, fish, sh", shell)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}
