// Command swcli manages Python runtimes for machine-learning work: create,
// activate, run, build, copy and restore them. It only parses arguments, calls
// core/workflow and prints; see DESIGN.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/plugin"
)

// version is set by the build (-ldflags -X main.version=...).
var version = "0.1.0-dev"

// exitError carries an exit code without a message (a command's own code).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	os.Exit(run(os.Args))
}

func run(args []string) int {
	a := &appState{}
	app := newApp(a)
	if words, ok := completeArgs(args); ok {
		return runComplete(a, app, words)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.ctx = ctx
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		if _, ok := <-sigs; ok {
			cancel()
		}
	}()
	err := app.RunContext(ctx, reorderArgs(app, args))
	signal.Stop(sigs)
	close(sigs)
	a.close()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "swcli: interrupted")
		return 130
	}
	printError(a, err)
	return 1
}

func printError(a *appState, err error) {
	msg := oneLine(err.Error())
	var me *mode.Error
	if errors.As(err, &me) && me.Detail != "" && !a.verbose {
		msg += " (run with --verbose for the tool's full output)"
	}
	fmt.Fprintf(os.Stderr, "swcli: %s\n", msg)
	if me != nil && me.Detail != "" && a.verbose {
		fmt.Fprintln(os.Stderr, me.Detail)
	}
	if a.verbose {
		fmt.Fprintf(os.Stderr, "%+v\n", err)
	}
}

func oneLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}

// appState holds what global flags set up, and what must be torn down.
type appState struct {
	output  string
	verbose bool
	logger  hclog.Logger
	host    *plugin.Host
	// closers are the places a command opened (see open).
	closers []io.Closer
	// crashSeen counts the events crashHook matched.
	crashSeen atomic.Int32
	// ctx is the command's context (cancelled on SIGINT/SIGTERM).
	ctx context.Context
}

func (a *appState) json() bool { return a.output == "json" }

func (a *appState) close() {
	for _, c := range a.closers {
		_ = c.Close()
	}
	a.closers = nil
	if a.host != nil {
		a.host.Close()
	}
}

func (a *appState) log() hclog.Logger {
	if a.logger != nil {
		return a.logger
	}
	level := hclog.Warn
	if v := os.Getenv("SW_LOG_LEVEL"); v != "" {
		level = hclog.LevelFromString(v)
	}
	if a.verbose {
		level = hclog.Debug
	}
	a.logger = hclog.New(&hclog.LoggerOptions{Name: "swcli", Level: level, Output: os.Stderr,
		// A plugin that exits badly is reported once, as the command's error
		// (plugin.CrashError); go-plugin's own line about it only with --verbose.
		Exclude: func(l hclog.Level, msg string, _ ...any) bool {
			return !a.verbose && level > hclog.Debug && msg == "plugin process exited"
		}})
	return a.logger
}

// plugins loads the catalog and returns the (lazy) plugin host.
func (a *appState) plugins() (*plugin.Host, error) {
	if a.host != nil {
		return a.host, nil
	}
	cat, err := plugin.Load(plugin.DefaultSources())
	if err != nil {
		return nil, err
	}
	a.host = plugin.NewHost(cat, a.log())
	return a.host, nil
}

func newApp(a *appState) *cli.App {
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version"}
	return &cli.App{
		Name:                 "swcli",
		Usage:                "versioned, shareable, reproducible Python runtimes for ML work",
		Version:              version,
		HideHelpCommand:      true,
		EnableBashCompletion: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "output format: text or json"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "show debug logs, plugin logs and tool output"},
		},
		Before: func(c *cli.Context) error {
			a.output = c.String("output")
			if a.output != "text" && a.output != "json" {
				return fmt.Errorf("--output %q is not a format; allowed: text, json", a.output)
			}
			a.verbose = c.Bool("verbose")
			return nil
		},
		Commands: []*cli.Command{
			runtimeCommand(a),
			modelCommand(a),
			datasetCommand(a),
			jobCommand(a),
			pluginCommand(a),
			serverCommand(a),
			instanceCommand(a),
			userCommand(a),
			projectCommand(a),
			completionCommand(),
		},
		ExitErrHandler:  func(*cli.Context, error) {},
		CommandNotFound: commandNotFound,
	}
}

// commandNotFound reports an unknown command as one line, listing the known
// ones.
func commandNotFound(c *cli.Context, name string) {
	var known []string
	cmds := c.App.Commands
	if c.Command != nil && len(c.Command.Subcommands) > 0 {
		cmds = c.Command.Subcommands
	}
	for _, x := range cmds {
		if !x.Hidden {
			known = append(known, x.Name)
		}
	}
	where := "swcli"
	if p := commandPath(c); p != "" {
		where += " " + p
	}
	fmt.Fprintf(os.Stderr, "swcli: %q is not a command of %s; commands: %s\n", name, where, strings.Join(known, ", "))
	os.Exit(2)
}
