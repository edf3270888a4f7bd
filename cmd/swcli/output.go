package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/opencontainers/go-digest"

	"github.com/swcli/swcli/core/instance/remote"
	"github.com/swcli/swcli/core/mode"
)

// printJSON writes v as indented JSON on stdout.
func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// render is the tail of every command: v as JSON with -o json, else the
// text that text prints.
func (a *appState) render(v any, text func()) error {
	if a.json() {
		return printJSON(v)
	}
	text()
	return nil
}

// copyProgress shows which blob a copy is at, as the other long commands'
// stages are shown.
func (a *appState) copyProgress() func(done, total int) {
	ev := a.events()
	return func(done, total int) { ev(mode.Event{Stage: "copy blobs", Current: int64(done), Total: int64(total)}) }
}

// byteProgress shows how far the blob a copy moves is, over the network
// (bytes of size; the bar shows the rate); in a test build
// SWCLI_TEST_KILL_AT=copy bytes#N stops a copy in the middle of a blob
// (testhooks_swclitest.go).
func (a *appState) byteProgress(ctx context.Context) context.Context {
	ev := a.events()
	return remote.WithProgress(ctx, func(d digest.Digest, done, size int64) {
		ev(mode.Event{Stage: "copy bytes", Message: fmt.Sprintf("%s %s of %s", d.Encoded()[:12], humanSize(done), humanSize(size))})
	})
}

// nonNil makes an empty listing print as [] rather than null in JSON.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// printTable prints rows under a header, aligned. tabwriter writes each
// cell on its own, so it writes into a buffer: one write of the table, not
// one syscall per cell (12 per version of a 500-version listing).
func printTable(header []string, rows [][]string) {
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	w.Flush()
	out.Flush()
}

// events renders plugin progress: a spinner with the current stage and the
// last tool line on a terminal; nothing in pipes (tool lines go to the log
// with --verbose).
func (a *appState) events() mode.Events {
	tty := term.IsTerminal(int(os.Stderr.Fd())) && !a.json()
	var mu sync.Mutex
	var bar *progressbar.ProgressBar
	stage := ""
	log := a.log()
	return func(e mode.Event) {
		mu.Lock()
		defer mu.Unlock()
		a.crashHook(e.Stage)
		if e.Level != "" {
			switch e.Level {
			case "error", "warn":
				log.Warn(e.Message)
			default:
				log.Debug(e.Message)
			}
		}
		if !tty {
			return
		}
		if e.Stage != "" {
			stage = e.Stage
		}
		if bar == nil {
			bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(os.Stderr),
				progressbar.OptionSpinnerType(14), progressbar.OptionClearOnFinish(),
				progressbar.OptionSetElapsedTime(true), progressbar.OptionThrottle(100_000_000))
		}
		desc := stage
		if e.Message != "" && e.Level == "" || e.Level == "info" {
			msg := e.Message
			if w, _, err := term.GetSize(int(os.Stderr.Fd())); err == nil && len(msg)+len(desc)+30 > w && w > len(desc)+33 {
				msg = msg[:w-len(desc)-33] + "…"
			}
			if msg != "" {
				desc += ": " + msg
			}
		}
		if e.Total > 0 {
			desc = fmt.Sprintf("%s [%d/%d]", desc, e.Current, e.Total)
		}
		bar.Describe(desc)
		_ = bar.Add(1)
	}
}

// doneEvents clears the spinner line.
func (a *appState) doneEvents() {
	if term.IsTerminal(int(os.Stderr.Fd())) && !a.json() {
		fmt.Fprint(os.Stderr, "\r\033[K")
	}
}
