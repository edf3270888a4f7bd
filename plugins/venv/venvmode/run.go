package venvmode

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk/pyenv"
)

// command is one tool run (sdk/pyenv.Run runs it).
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
	tail   []string // last lines of stdout+stderr, in order
	stdout *bytes.Buffer
}

// run runs c with sdk/pyenv.Run (its own process group, every output line
// an info event, stdout captured unless stream is set) and logs it at
// debug level.
func (m *Mode) run(ctx context.Context, c command, ev mode.Events, stream bool) (*result, error) {
	m.log.Debug("run", "cmd", c.name, "args", c.args, "dir", c.dir)
	r, err := pyenv.Run(ctx, pyenv.Command{Name: c.name, Args: c.args, Dir: c.dir, Env: c.env, What: c.what, Stdin: c.stdin, Capture: !stream}, ev)
	if r == nil {
		return nil, err
	}
	return &result{tail: r.Tail, stdout: &r.Stdout}, err
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
