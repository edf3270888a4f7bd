package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/swcli/swcli/core/dockerize"
	"github.com/swcli/swcli/core/job"
	"github.com/swcli/swcli/core/workflow"
	"github.com/swcli/swcli/internal/atomicfile"
)

func jobCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:  "job",
		Usage: "run a handler with a runtime, a model and datasets, and keep the record",
		Subcommands: []*cli.Command{
			jobCreateCommand(a), jobListCommand(a), jobInfoCommand(a), jobLogsCommand(a),
			jobRemoveCommand(a), jobCancelCommand(a), jobExportCommand(a), jobImportCommand(a),
		},
	}
}

func (a *appState) runner() (*job.Runner, error) {
	svc, err := a.service()
	if err != nil {
		return nil, err
	}
	return &job.Runner{Svc: svc, Jobs: job.In(svc.StorageRoot)}, nil
}

func jobCreateCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "run a job: restore the runtime, lay out the model and datasets read-only, run the handler in the runtime's environment",
		ArgsUsage: "[-- CMD [ARGS...]]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "runtime", Usage: "runtime URI or .swrt file (its environment runs the handler)"},
			&cli.StringFlag{Name: "model", Usage: "model URI or .swmp file (laid out in SW_MODEL_DIR; its run.handler is the default command)"},
			&cli.StringSliceFlag{Name: "dataset", Usage: "dataset URI or .swds file (repeatable; SW_DATASET_DIR, SW_DATASET_DIR_<NAME>)"},
			&cli.StringFlag{Name: "handler", Usage: "command line to run instead of the model's run.handler (by /bin/sh -c)"},
			&cli.StringFlag{Name: "rerun", Usage: "run job ID's exact versions and command again"},
			&cli.BoolFlag{Name: "in-container", Usage: "run in the runtime's image (built once by dockerize; docker, else podman), the model and datasets mounted read-only"},
			&cli.StringFlag{Name: "base-image", Usage: "with --in-container: the base image of the runtime's image (as runtime dockerize --base-image)"},
		},
		Action: func(c *cli.Context) error {
			argv := c.Args().Slice()
			if len(argv) > 0 && argv[0] == "--" {
				argv = argv[1:]
			}
			switch {
			case len(argv) > 0 && c.String("handler") != "":
				return usage(c, "give --handler CMD or -- CMD..., not both")
			case c.String("rerun") != "" && (c.String("runtime") != "" || c.String("model") != "" || len(c.StringSlice("dataset")) > 0 || c.String("handler") != "" || len(argv) > 0):
				return usage(c, "--rerun runs the job's own versions and command; give no --runtime, --model, --dataset or command with it")
			case c.String("rerun") == "" && c.String("runtime") == "":
				return usage(c, "--runtime is needed (the runtime whose environment runs the handler), or --rerun JOB")
			}
			if c.String("base-image") != "" && !c.Bool("in-container") {
				return usage(c, "--base-image is for --in-container (the base of the runtime's image)")
			}
			r, err := a.runner()
			if err != nil {
				return err
			}
			if c.Bool("in-container") || c.String("rerun") != "" {
				// (a rerun of a job that ran in a container runs in one)
				if r.Containers, err = a.containers(c.String("base-image")); err != nil {
					return err
				}
			}
			o := job.CreateOptions{Runtime: c.String("runtime"), Model: c.String("model"), Datasets: c.StringSlice("dataset"),
				Handler: c.String("handler"), Argv: argv, InContainer: c.Bool("in-container"), Stdout: os.Stdout, Stderr: os.Stderr}
			if a.json() {
				o.Stdout, o.Stderr = os.Stderr, os.Stderr // stdout is the record
			}
			var rec *job.Record
			if id := c.String("rerun"); id != "" {
				rec, err = r.Rerun(c.Context, id, o)
			} else {
				rec, err = r.Create(c.Context, o)
			}
			a.doneEvents()
			if err != nil {
				var re *workflow.RunError
				if rec != nil && errors.As(err, &re) && rec.ExitCode != nil {
					fmt.Fprintf(os.Stderr, "swcli: %s (job %s recorded failed)\n", re.Error(), rec.ID)
					return &exitError{*rec.ExitCode}
				}
				return err
			}
			if err := a.render(rec, func() {
				fmt.Fprintf(os.Stderr, "job %s %s%s\n", rec.ID, rec.Status, exitSuffix(rec))
			}); err != nil {
				return err
			}
			switch {
			case rec.Status == job.Cancelled:
				return &exitError{130}
			case rec.ExitCode != nil && *rec.ExitCode != 0:
				return &exitError{*rec.ExitCode}
			}
			return nil
		},
	}
}

// containers is how jobs run in containers: dockerize's images, built
// with the base image and image repository the user chose.
func (a *appState) containers(base string) (*job.Containers, error) {
	d, err := a.dockerizer()
	if err != nil {
		return nil, err
	}
	cfg, err := d.Service.Instances().Config()
	if err != nil {
		return nil, err
	}
	return &job.Containers{Dockerizer: d, BaseImage: base, ImageRepo: dockerize.ImageRepoFrom(cfg), Log: a.buildLog()}, nil
}

func exitSuffix(r *job.Record) string {
	if r.ExitCode == nil {
		return ""
	}
	return fmt.Sprintf(" (exit code %d)", *r.ExitCode)
}

func jobListCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:    "list",
		Aliases: []string{"ls"},
		Usage:   "list jobs, newest first (a job whose swcli was killed is marked failed)",
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return usage(c, "job list takes no arguments")
			}
			r, err := a.runner()
			if err != nil {
				return err
			}
			recs, err := r.Jobs.List()
			if err != nil {
				return err
			}
			return a.render(recs, func() {
				var rows [][]string
				for _, j := range recs {
					rows = append(rows, []string{j.ID, j.Status, exitText(j), short(j.Runtime), short(j.Model), fmt.Sprint(len(j.Datasets)), ago(j.Start), duration(j)})
				}
				printTable([]string{"ID", "STATUS", "EXIT", "RUNTIME", "MODEL", "DATASETS", "START", "DURATION"}, rows)
			})
		},
	}
}

func exitText(r *job.Record) string {
	if r.ExitCode == nil {
		return ""
	}
	return fmt.Sprint(*r.ExitCode)
}

func short(x *job.Artifact) string {
	if x == nil {
		return ""
	}
	return x.Name + "/" + x.Short
}

func duration(r *job.Record) string {
	if r.End == nil {
		return ""
	}
	return r.End.Sub(r.Start).Round(time.Millisecond).String()
}

// jobAction is the action of a subcommand that takes one job ID.
func (a *appState) jobAction(f func(c *cli.Context, r *job.Runner, id string) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.NArg() != 1 {
			return usage(c, "give one job ID (swcli job list shows them)")
		}
		r, err := a.runner()
		if err != nil {
			return err
		}
		return f(c, r, c.Args().First())
	}
}

func jobInfoCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "info",
		Usage:     "show a job's record: the exact versions, command, status, exit code, times, outputs",
		ArgsUsage: "ID",
		Action: a.jobAction(func(c *cli.Context, r *job.Runner, id string) error {
			rec, err := r.Jobs.Get(id)
			if err != nil {
				return err
			}
			return a.render(rec, func() {
				rows := [][]string{{"id", rec.ID}, {"status", rec.Status}, {"exit_code", exitText(rec)}, {"error", rec.Error}}
				for _, x := range []struct {
					k string
					v *job.Artifact
				}{{"runtime", rec.Runtime}, {"model", rec.Model}} {
					if x.v != nil {
						rows = append(rows, []string{x.k, x.v.Exact})
					}
				}
				for _, d := range rec.Datasets {
					rows = append(rows, []string{"dataset", d.Exact})
				}
				rows = append(rows, []string{"command", strings.Join(rec.Command, " ")}, []string{"start", ago(rec.Start)},
					[]string{"duration", duration(rec)}, []string{"dir", rec.Dir}, []string{"output", strings.Join(rec.Output, ", ")})
				if rec.RerunOf != "" {
					rows = append(rows, []string{"rerun_of", rec.RerunOf})
				}
				if ct := rec.Container; ct != nil {
					rows = append(rows, []string{"container", fmt.Sprintf("%s %s (image %s, built %t)", ct.Engine, ct.Image, ct.ImageID, ct.Built)})
				}
				printTable([]string{"FIELD", "VALUE"}, rows)
			})
		}),
	}
}

func jobLogsCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "print a job's output (--follow: until the job ends)",
		ArgsUsage: "ID",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing while the job runs"}},
		Action: a.jobAction(func(c *cli.Context, r *job.Runner, id string) error {
			rec, err := r.Jobs.Get(id)
			if err != nil {
				return err
			}
			if a.json() {
				b, err := os.ReadFile(r.Jobs.Log(rec))
				if err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
				return printJSON(map[string]any{"id": rec.ID, "status": rec.Status, "log": string(b)})
			}
			return r.Jobs.Follow(c.Context, rec.ID, os.Stdout, c.Bool("follow"))
		}),
	}
}

func jobRemoveCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "remove",
		Aliases:   []string{"rm"},
		Usage:     "delete an ended job's folder and record",
		ArgsUsage: "ID",
		Action: a.jobAction(func(c *cli.Context, r *job.Runner, id string) error {
			rec, err := r.Jobs.Remove(id)
			if err != nil {
				return err
			}
			return a.render(map[string]any{"id": rec.ID, "removed": true}, func() { fmt.Printf("removed job %s\n", rec.ID) })
		}),
	}
}

func jobCancelCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "cancel",
		Usage:     "stop a running job and its children; it is recorded cancelled",
		ArgsUsage: "ID",
		Action: a.jobAction(func(c *cli.Context, r *job.Runner, id string) error {
			rec, err := r.Jobs.Cancel(id, 5*time.Second)
			if err != nil {
				return err
			}
			return a.render(map[string]any{"id": rec.ID, "cancelled": true}, func() { fmt.Printf("cancelled job %s\n", rec.ID) })
		}),
	}
}

func jobExportCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write an ended job's record, log and output/ to FILE (a deterministic archive; copy its versions with runtime/model/dataset copy)",
		ArgsUsage: "ID FILE",
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usage(c, "give a job ID and the FILE to write, e.g. swcli job export ID job.swjob")
			}
			r, err := a.runner()
			if err != nil {
				return err
			}
			file := c.Args().Get(1)
			var rec *job.Record
			err = atomicfile.WriteFunc(file, 0o644, func(w io.Writer) error {
				rec, err = r.Jobs.Export(c.Context, c.Args().First(), w)
				return err
			})
			if err != nil {
				return err
			}
			return a.render(map[string]any{"id": rec.ID, "file": file}, func() { fmt.Printf("exported job %s to %s\n", rec.ID, file) })
		},
	}
}

func jobImportCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "add the job FILE holds (written by job export), checked; --rerun runs it again once its versions are in the store",
		ArgsUsage: "FILE",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usage(c, "give the FILE swcli job export wrote")
			}
			r, err := a.runner()
			if err != nil {
				return err
			}
			f, err := os.Open(c.Args().First())
			if err != nil {
				return err
			}
			defer f.Close()
			rec, err := r.Jobs.Import(c.Context, f.Name(), f)
			if err != nil {
				return err
			}
			return a.render(rec, func() { fmt.Printf("imported job %s (%s)\n", rec.ID, rec.Status) })
		},
	}
}
