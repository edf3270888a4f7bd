package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/swcli/swcli/core/spec"
	"github.com/swcli/swcli/core/workflow"
)

func quickstartCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:  "quickstart",
		Usage: "start a new runtime: asks its name, mode, Python and requirements file on a terminal (each also a flag), writes runtime.yaml, optionally makes the environment",
		Description: "On a terminal every answer not given as a flag is asked, with its default in brackets (Enter takes it).\n" +
			"In a script give the answers as flags; -y takes the default of every answer not given.",
		ArgsUsage: "[FOLDER]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Usage: "runtime name (default: made of the folder's name)"},
			&cli.StringFlag{Name: "mode", Aliases: []string{"m"}, Usage: "environment mode: " + strings.Join(workflow.QuickstartModes, ", ") + " (default venv)"},
			&cli.StringFlag{Name: "python", Usage: "Python X.Y, one found on this machine for venv (default " + spec.DefaultPython + " if found, else the newest)"},
			&cli.StringFlag{Name: "requirements", Aliases: []string{"r"}, Usage: "requirements file, relative to FOLDER; written empty when missing (default " + spec.DefaultPipReq + ")"},
			&cli.BoolFlag{Name: "create", Usage: "make the environment too, as runtime create does (default: no)"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "ask nothing: take the default of every answer not given as a flag"},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "replace FOLDER's runtime.yaml (and, with --create, its environment)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usage(c, "give one FOLDER, got %d arguments", c.NArg())
			}
			plan, err := workflow.PlanQuickstart(c.Context, c.Args().First(), c.Bool("force"))
			if err != nil {
				return err
			}
			q := &asker{c: c, yes: c.Bool("yes"), tty: term.IsTerminal(int(os.Stdin.Fd())), in: os.Stdin, out: os.Stderr}
			o := workflow.QuickstartOptions{Force: c.Bool("force")}
			if o.Name, err = q.ask(question{flag: "name", prompt: "Runtime name", def: plan.DefaultName(), check: plan.CheckName}); err != nil {
				return err
			}
			if o.Mode, err = q.ask(question{flag: "mode", prompt: "Mode (" + strings.Join(workflow.QuickstartModes, ", ") + ")", def: spec.ModeVenv, check: plan.CheckMode}); err != nil {
				return err
			}
			if o.Python, err = q.ask(pythonQuestion(plan, o.Mode)); err != nil {
				return err
			}
			if o.Requirements, err = q.ask(question{flag: "requirements", prompt: "Requirements file", def: spec.DefaultPipReq, check: plan.CheckRequirements}); err != nil {
				return err
			}
			create, err := q.ask(question{flag: "create", prompt: "Make the environment now? (y/n)", def: "n", check: checkYesNo, pick: yesNo, yesNo: true})
			if err != nil {
				return err
			}
			o.Create = create == "y"
			svc, err := a.service()
			if err != nil {
				return err
			}
			res, err := svc.Quickstart(c.Context, plan, o)
			a.doneEvents()
			if err != nil {
				return err
			}
			return a.render(res, func() {
				fmt.Printf("wrote %s: runtime %s (%s, Python %s)\n", res.Spec, res.Name, res.Mode, res.Python)
				if res.RequirementsWritten {
					fmt.Printf("wrote %s, empty: add your requirements to it\n", res.Requirements)
				}
				if res.Prefix != "" {
					fmt.Printf("made the environment in %s; activate it with: swcli runtime activate %s\n", res.Prefix, res.Workdir)
				} else {
					fmt.Printf("make the environment with: swcli runtime create %s\n", res.Workdir)
				}
			})
		},
	}
}

// question is one answer quickstart needs: its flag, what the terminal
// shows, the default, the check; pick turns what was typed into the answer
// (a number into the Python it lists).
type question struct {
	flag, prompt, def string
	// choices are shown, one a line, before the first prompt.
	choices []string
	check   func(string) error
	pick    func(string) string
	// yesNo questions are answered by a bool flag, y or n.
	yesNo bool
}

func pythonQuestion(plan *workflow.QuickstartPlan, modeName string) question {
	q := question{flag: "python", prompt: "Python (a number or X.Y)", def: plan.DefaultPython(),
		check: func(v string) error { return plan.CheckPython(modeName, v) }}
	for i, it := range plan.Pythons {
		q.choices = append(q.choices, fmt.Sprintf("%d) %s  %s", i+1, it.Patch, it.Path))
	}
	if len(q.choices) > 0 {
		q.choices = append([]string{"Pythons found on this machine:"}, q.choices...)
	}
	q.pick = func(s string) string {
		if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= len(plan.Pythons) {
			return plan.Pythons[n-1].Version
		}
		return s
	}
	return q
}

func checkYesNo(s string) error {
	if s != "y" && s != "n" {
		return errString(fmt.Sprintf("answer %q: allowed: y, yes, n, no", s))
	}
	return nil
}

func yesNo(s string) string {
	switch strings.ToLower(s) {
	case "y", "yes":
		return "y"
	case "n", "no":
		return "n"
	}
	return s
}

// asker takes each answer from its flag, from the default (-y), or from the
// terminal, asking again after a bad answer; without a terminal a missing
// answer is an error naming its flag.
type asker struct {
	c     *cli.Context
	yes   bool
	tty   bool
	in    io.Reader
	out   io.Writer
	lines chan string // what was typed, line by line; closed at end of input
}

func (q *asker) ask(x question) (string, error) {
	pick := x.pick
	if pick == nil {
		pick = func(s string) string { return s }
	}
	switch {
	case q.c.IsSet(x.flag):
		v := q.c.String(x.flag)
		if x.yesNo {
			v = map[bool]string{true: "y", false: "n"}[q.c.Bool(x.flag)]
		}
		return v, x.check(v)
	case q.yes, x.yesNo && !q.tty: // in a script, a bool flag not given is its answer
		return x.def, x.check(x.def)
	case !q.tty:
		return "", usage(q.c, "no --%s given, and stdin is not a terminal to ask it; pass --%s (or -y to take the defaults)", x.flag, x.flag)
	}
	for _, l := range x.choices {
		fmt.Fprintln(q.out, l)
	}
	for {
		fmt.Fprintf(q.out, "%s [%s]: ", x.prompt, x.def)
		line, err := q.readLine(q.c.Context)
		if err != nil {
			return "", err
		}
		v := pick(strings.TrimSpace(line))
		if v == "" {
			v = x.def
		}
		if err := x.check(v); err != nil {
			fmt.Fprintf(q.out, "  %s\n", err)
			continue
		}
		return v, nil
	}
}

// readLine reads one typed line; Ctrl-C (ctx done) stops the wait.
func (q *asker) readLine(ctx context.Context) (string, error) {
	if q.lines == nil {
		q.lines = make(chan string)
		go func() {
			defer close(q.lines)
			sc := bufio.NewScanner(q.in)
			for sc.Scan() {
				q.lines <- sc.Text()
			}
		}()
	}
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case l, ok := <-q.lines:
		if !ok {
			return "", usage(q.c, "the input ended before an answer; give the answers as flags in a script")
		}
		return l, nil
	}
}
