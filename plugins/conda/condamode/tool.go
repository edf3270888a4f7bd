package condamode

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// NoToolMessage is the error message when no conda tool is found.
const NoToolMessage = "conda mode needs conda, mamba or micromamba on PATH, or SW_CONDA_EXE"

// flavor is the command-line dialect of a tool.
type flavor int

const (
	// flavorConda is conda's CLI, also spoken by mamba 1.x.
	flavorConda flavor = iota
	// flavorMicromamba is micromamba's CLI, also spoken by mamba 2.x.
	flavorMicromamba
)

// tool is the conda executable found.
type tool struct {
	name       string // conda, mamba or micromamba
	path       string
	version    string // first line of --version
	versionErr string
	flavor     flavor
}

// findTool looks for the tool: Options.CondaExe, $SW_CONDA_EXE, then conda,
// mamba, micromamba on PATH.
func (m *Mode) findTool(ctx context.Context) (*tool, error) {
	var path string
	explicit := m.opts.CondaExe
	src := "CondaExe"
	if explicit == "" {
		explicit = os.Getenv(EnvCondaExe)
		src = EnvCondaExe
	}
	if explicit != "" {
		p, err := exec.LookPath(explicit)
		if err != nil {
			return nil, &mode.Error{Code: mode.ErrNoTool,
				Message: NoToolMessage + " (" + src + "=" + explicit + " is not an executable)"}
		}
		path = p
	} else {
		for _, n := range pyenv.CondaTools {
			if p, err := exec.LookPath(n); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		return nil, &mode.Error{Code: mode.ErrNoTool, Message: NoToolMessage}
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	t := &tool{path: path, name: "conda"}
	base := filepath.Base(path)
	switch {
	case strings.Contains(base, "micromamba"):
		t.name, t.flavor = "micromamba", flavorMicromamba
	case strings.Contains(base, "mamba"):
		t.name = "mamba"
	}
	// mamba 2.x prints a bare version ("2.0.5") and speaks micromamba's CLI;
	// mamba 1.x prints "mamba 1.5.8\nconda 24.1.0" and speaks conda's. Only
	// mamba needs asking: conda and micromamba are known by name.
	if t.name == "mamba" {
		t.probeVersion(ctx)
		if strings.HasPrefix(t.version, "2.") {
			t.flavor = flavorMicromamba
		}
	}
	return t, nil
}

// probeVersion runs TOOL --version and keeps its first line.
func (t *tool) probeVersion(ctx context.Context) {
	if t.version != "" || t.versionErr != "" {
		return
	}
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(vctx, t.path, "--version")
	setProcessGroup(cmd)
	out, err := cmd.Output()
	first := strings.TrimSpace(strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0])
	if err != nil {
		t.versionErr = err.Error()
	} else {
		t.version = first
	}
}

// setProcessGroup makes cmd the leader of its own process group and kills the
// whole group when its context is cancelled.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second
}

// runOpts configures one tool run.
type runOpts struct {
	dir   string
	env   []string // added to os.Environ()
	stage string
	// jsonOut: stdout is conda's --json document; it is not streamed but
	// summarized after the run.
	jsonOut bool
}

// result is a finished run.
type result struct {
	stdout, stderr string
}

// run runs argv, streaming output lines as info events. A non-zero exit is
// returned as an *exec.ExitError; the caller turns it into a mode.Error.
func run(ctx context.Context, ev mode.Events, argv []string, o runOpts) (result, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	setProcessGroup(cmd)
	cmd.Dir = o.dir
	cmd.Env = append(os.Environ(), o.env...)
	cmd.Stdin = nil
	var outBuf, errBuf bytes.Buffer
	stdoutR, err := cmd.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	stderrR, err := cmd.StderrPipe()
	if err != nil {
		return result{}, err
	}
	ev.Emit(mode.Event{Level: "debug", Stage: o.stage, Message: "run: " + strings.Join(argv, " ")})
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	pump := func(r io.Reader, buf *bytes.Buffer, stream bool) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			buf.WriteString(line)
			buf.WriteByte('\n')
			mu.Unlock()
			if l := strings.TrimRight(strings.ReplaceAll(line, "\x00", ""), " \r"); stream && l != "" {
				ev.Emit(mode.Event{Level: "info", Stage: o.stage, Message: l})
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}
	wg.Add(2)
	go pump(stdoutR, &outBuf, !o.jsonOut)
	go pump(stderrR, &errBuf, true)
	wg.Wait()
	err = cmd.Wait()
	res := result{stdout: outBuf.String(), stderr: errBuf.String()}
	if o.jsonOut && err == nil {
		summarizeJSON(ev, o.stage, res.stdout)
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, err
}

// jsonDocs parses the JSON objects conda prints with --json (one document, or
// several separated by NUL bytes or newlines for fetch progress).
func jsonDocs(s string) []map[string]any {
	var docs []map[string]any
	dec := json.NewDecoder(strings.NewReader(strings.ReplaceAll(s, "\x00", "\n")))
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			break
		}
		docs = append(docs, d)
	}
	return docs
}

// summarizeJSON sends the packages conda linked as info events.
func summarizeJSON(ev mode.Events, stage, stdout string) {
	for _, d := range jsonDocs(stdout) {
		acts, _ := d["actions"].(map[string]any)
		links, _ := acts["LINK"].([]any)
		for _, l := range links {
			switch v := l.(type) {
			case map[string]any:
				name, _ := v["dist_name"].(string)
				if name == "" {
					n, _ := v["name"].(string)
					ver, _ := v["version"].(string)
					name = n + "-" + ver
				}
				ev.Emit(mode.Event{Level: "info", Stage: stage, Message: "linked " + name})
			case string:
				ev.Emit(mode.Event{Level: "info", Stage: stage, Message: "linked " + v})
			}
		}
	}
}

// errorMarkers are the lines of conda, mamba and micromamba output that say
// what went wrong; the first one found becomes the error message.
var errorMarkers = []string{
	"PackagesNotFoundError", "UnsatisfiableError", "ResolvePackageNotFound",
	"LibMambaUnsatisfiableError", "CondaHTTPError", "CondaVerificationError",
	"CondaValueError", "CondaEnvException", "EnvironmentLocationNotFound",
	"critical libmamba", "error    libmamba", "ERROR:", "Error:", "error:",
}

// toolError turns a failed run into an *mode.Error whose Message carries the
// tool's own error text: the "message"/"error" of conda's JSON error when
// there is one, else the first marker line of its output.
func toolError(what string, res result, err error) error {
	var me *mode.Error
	if errors.As(err, &me) {
		return me
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &mode.Error{Code: mode.ErrToolFailed, Message: strings.Join(strings.Fields(what+": interrupted: "+err.Error()), " ")}
	}
	msg := ""
	for _, d := range jsonDocs(res.stdout) {
		name, _ := d["exception_name"].(string)
		text, _ := d["message"].(string)
		if text == "" {
			text, _ = d["error"].(string)
			name = ""
		}
		if text != "" {
			msg = firstParagraph(text)
			if name != "" && !strings.HasPrefix(msg, name) {
				msg = name + ": " + msg
			}
			break
		}
	}
	all := res.stderr + "\n" + res.stdout
	if msg == "" {
		lines := strings.Split(all, "\n")
	markers:
		for _, mk := range errorMarkers {
			for i, l := range lines {
				if strings.Contains(l, mk) {
					msg = strings.TrimSpace(l)
					// conda puts the details on the following lines ("  - pkg").
					for _, next := range lines[i+1:] {
						t := strings.TrimSpace(next)
						if t == "" && strings.HasSuffix(msg, ":") {
							continue
						}
						if !strings.HasPrefix(t, "- ") {
							break
						}
						msg += " " + t
					}
					break markers
				}
			}
		}
	}
	if strings.Contains(msg, "Pip failed") {
		// conda's "CondaEnvException: Pip failed" wraps pip's own error
		// (the pip: section of an env file): pip's line says what failed.
		if l := pipErrorLine(all); l != "" {
			msg = "pip: " + l
		}
	}
	if msg == "" {
		msg = lastLines(all, 3)
	}
	if msg == "" && err != nil {
		msg = err.Error()
	}
	// A mode error's message is one line; the output tail goes in Detail.
	msg = strings.Join(strings.Fields(what+": "+msg), " ")
	return &mode.Error{Code: mode.ErrToolFailed, Message: msg, Detail: lastLines(all, 40)}
}

// pipErrorLine is the last "ERROR: ..." line pip wrote (its most specific
// one: "ERROR: No matching distribution found for x"), or "".
func pipErrorLine(out string) string {
	last := ""
	for _, l := range strings.Split(out, "\n") {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "ERROR: ") {
			last = t
		}
	}
	return last
}

// firstParagraph joins the first paragraph of text and its list lines:
// "The following packages are not available from current channels: - foo".
func firstParagraph(text string) string {
	var parts []string
	lines := strings.Split(strings.TrimSpace(text), "\n")
	for i := 0; i < len(lines); i++ {
		t := strings.TrimSpace(lines[i])
		if t == "" {
			if i+1 < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i+1]), "- ") && len(parts) > 0 && !strings.HasPrefix(parts[len(parts)-1], "- ") {
				continue
			}
			break
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, " ")
}

func lastLines(s string, n int) string {
	var ls []string
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); t != "" {
			ls = append(ls, t)
		}
	}
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}
