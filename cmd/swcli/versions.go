package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/spec"
	"github.com/swcli/swcli/core/uri"
	"github.com/swcli/swcli/core/workflow"
)

func versionCommands(a *appState) []*cli.Command {
	return []*cli.Command{
		buildCommand(a), listCommand(a), infoCommand(a), historyCommand(a),
		tagCommand(a), removeCommand(a), recoverCommand(a), gcCommand(a), copyCommand(a),
		restoreCommands(a)[0], restoreCommands(a)[1],
	}
}

func projectFlag() cli.Flag {
	return &cli.StringFlag{Name: "project", Aliases: []string{"p"}, Usage: "project in the local instance", Value: instance.DefaultProject}
}

func buildCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "lock the workdir's environment and store it as a new version (a .swrt bundle) in the local store",
		ArgsUsage: "WORKDIR",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "runtime-yaml", Aliases: []string{"f"}, Usage: "runtime.yaml to use, relative to WORKDIR"},
			projectFlag(),
			&cli.StringSliceFlag{Name: "tag", Aliases: []string{"t"}, Usage: "add a tag (repeatable)"},
			&cli.BoolFlag{Name: "lock-only", Usage: "store the lock and the snapshot only, no environment layers"},
			&cli.BoolFlag{Name: "no-cache", Usage: "remake the environment from scratch and repack every layer"},
			&cli.BoolFlag{Name: "include-editable", Usage: "pack editable installs as regular files instead of refusing them"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usage(c, "give one WORKDIR, got %d arguments", c.NArg())
			}
			svc, err := a.service()
			if err != nil {
				return err
			}
			wd := c.Args().First()
			if wd == "" {
				wd = "."
			}
			res, err := svc.Build(c.Context, workflow.BuildOptions{Workdir: wd, SpecFile: c.String("runtime-yaml"),
				Project: c.String("project"), Tags: c.StringSlice("tag"), LockOnly: c.Bool("lock-only"),
				NoCache: c.Bool("no-cache"), IncludeEditable: c.Bool("include-editable")})
			a.doneEvents()
			if err != nil {
				return err
			}
			if a.json() {
				return printJSON(res)
			}
			fmt.Printf("built %s version %s (%s), %s in %d layers (%d reused)\n", res.Name, res.Version,
				strings.Join(res.Tags, ", "), humanSize(res.Size), res.Layers, res.Reused)
			fmt.Println(res.URI)
			return nil
		},
	}
}

func listCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:    "list",
		Aliases: []string{"ls"},
		Usage:   "list the runtimes of a project",
		Flags:   []cli.Flag{projectFlag(), &cli.BoolFlag{Name: "show-removed", Aliases: []string{"sr"}, Usage: "include removed versions"}},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usage(c, "takes no arguments (use --project)")
			}
			reg, err := a.local()
			if err != nil {
				return err
			}
			if err := spec.ValidateName(c.String("project")); err != nil {
				return usage(c, "--project: %v", err)
			}
			rts, err := reg.ListRuntimes(c.Context, c.String("project"), c.Bool("show-removed"))
			if err != nil {
				return err
			}
			if a.json() {
				return printJSON(nonNil(rts))
			}
			var rows [][]string
			for _, r := range rts {
				rows = append(rows, []string{r.Name, r.Latest.Short, strings.Join(r.Latest.Tags, ","), fmt.Sprint(r.Versions), humanSize(r.Latest.Size), ago(r.Latest.Created)})
			}
			printTable([]string{"NAME", "LATEST", "TAGS", "VERSIONS", "SIZE", "CREATED"}, rows)
			return nil
		},
	}
}

func historyCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "history",
		Usage:     "list the versions of a runtime, newest first",
		ArgsUsage: "NAME",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "show-removed", Aliases: []string{"sr"}, Usage: "include removed versions"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usage(c, "give one runtime NAME or URI")
			}
			ref, err := workflow.ParseRef(c.Args().First())
			if err != nil {
				return err
			}
			reg, err := a.local()
			if err != nil {
				return err
			}
			vs, err := reg.ListVersions(c.Context, ref.Project, ref.Name, c.Bool("show-removed"))
			if err != nil {
				return err
			}
			if a.json() {
				return printJSON(nonNil(vs))
			}
			var rows [][]string
			for _, v := range vs {
				state := ""
				if v.Removed {
					state = "removed"
				}
				rows = append(rows, []string{v.Short, strings.Join(v.Tags, ","), humanSize(v.Size), v.Created.Local().Format(time.DateTime), state})
			}
			printTable([]string{"VERSION", "TAGS", "SIZE", "CREATED", ""}, rows)
			return nil
		},
	}
}

func infoCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "info",
		Usage:     "show a stored version: what its manifest holds",
		ArgsUsage: "URI",
		Flags: []cli.Flag{&cli.StringFlag{Name: "output-filter", Aliases: []string{"of"}, Value: "basic",
			Usage: "basic, runtime_yaml, manifest, lock or all"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usage(c, "give one runtime URI (NAME, NAME/version/VERSION ...)")
			}
			filter := c.String("output-filter")
			switch filter {
			case "basic", "runtime_yaml", "manifest", "lock", "all":
			default:
				return usage(c, "--output-filter %q is not a filter; allowed: basic, runtime_yaml, manifest, lock, all", filter)
			}
			ref, err := workflow.ParseRef(c.Args().First())
			if err != nil {
				return err
			}
			svc, err := a.service()
			if err != nil {
				return err
			}
			b, err := svc.Info(c.Context, ref)
			if err != nil {
				return err
			}
			out := map[string]any{}
			basic := map[string]any{"name": b.Manifest.Name, "version": b.Version.Short, "digest": b.Version.Digest,
				"tags": b.Version.Tags, "mode": b.Manifest.Mode, "python": b.Manifest.Python, "os": b.Manifest.OS,
				"arch": b.Manifest.Arch, "platform": b.Manifest.Platform, "abi": b.Manifest.ABI, "size": b.Version.Size,
				"created": b.Version.Created, "lock_only": b.Manifest.LockOnly, "swcli_version": b.Manifest.SwcliVersion,
				"layers": len(b.OCI.Layers), "packages": len(b.Manifest.Lock),
				"uri": fmt.Sprintf("local/project/%s/runtime/%s/version/%s", ref.Project, b.Manifest.Name, b.Version.Short)}
			if filter == "basic" || filter == "all" {
				out["basic"] = basic
			}
			var yamlText []byte
			if filter == "runtime_yaml" || filter == "all" {
				if yamlText, err = svc.SnapshotFile(c.Context, b, b.Manifest.SpecFile); err != nil {
					return err
				}
				out["runtime_yaml"] = string(yamlText)
			}
			if filter == "manifest" || filter == "all" {
				out["manifest"] = b.Manifest
				out["oci_manifest"] = json.RawMessage(b.Raw)
			}
			if filter == "lock" || filter == "all" {
				out["lock"] = b.Manifest.Lock
			}
			if a.json() {
				return printJSON(out)
			}
			switch filter {
			case "runtime_yaml":
				_, err := os.Stdout.Write(yamlText)
				return err
			case "basic":
				var rows [][]string
				for _, k := range []string{"name", "version", "digest", "tags", "mode", "python", "os", "arch", "platform", "abi", "size", "created", "layers", "packages", "lock_only", "swcli_version", "uri"} {
					v := basic[k]
					switch x := v.(type) {
					case []string:
						v = strings.Join(x, ", ")
					case int64:
						v = humanSize(x)
					case time.Time:
						v = x.Local().Format(time.DateTime)
					}
					rows = append(rows, []string{k, fmt.Sprint(v)})
				}
				printTable([]string{"FIELD", "VALUE"}, rows)
				return nil
			case "lock":
				var rows [][]string
				for _, p := range b.Manifest.Lock {
					rows = append(rows, []string{p.Name, p.Version, p.Installer, p.Source})
				}
				printTable([]string{"PACKAGE", "VERSION", "INSTALLER", "SOURCE"}, rows)
				return nil
			}
			return printJSON(out)
		},
	}
}

func tagCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "tag",
		Usage:     "add tags to a version (or remove them with --remove); without tags, list them",
		ArgsUsage: "URI [TAG...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "remove", Aliases: []string{"r"}, Usage: "remove the tags"},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "move a tag that is on another version"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return usage(c, "give a runtime URI and tags")
			}
			ref, err := workflow.ParseRef(c.Args().First())
			if err != nil {
				return err
			}
			tags := c.Args().Slice()[1:]
			svc, err := a.service()
			if err != nil {
				return err
			}
			reg, v, err := svc.Resolve(c.Context, ref)
			if err != nil {
				return err
			}
			switch {
			case len(tags) == 0:
			case c.Bool("remove"):
				err = reg.Untag(c.Context, ref.Project, ref.Name, tags)
			default:
				err = reg.Tag(c.Context, ref.Project, ref.Name, string(v.Digest), tags, c.Bool("force"))
			}
			if err != nil {
				return err
			}
			v, err = reg.Resolve(c.Context, ref.Project, ref.Name, string(v.Digest))
			if err != nil {
				return err
			}
			if a.json() {
				return printJSON(v)
			}
			fmt.Printf("%s %s: %s\n", ref.Name, v.Short, strings.Join(v.Tags, ", "))
			return nil
		},
	}
}

func removeCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "remove",
		Aliases:   []string{"rm"},
		Usage:     "remove a version (recoverable unless --force); without a version, every version of the runtime",
		ArgsUsage: "URI",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "delete for good (blobs are freed by gc)"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usage(c, "give one runtime URI")
			}
			u, err := uri.Parse(c.Args().First())
			if err != nil {
				return err
			}
			ref, err := workflow.ParseRef(c.Args().First())
			if err != nil {
				return err
			}
			reg, err := a.local()
			if err != nil {
				return err
			}
			var targets []registry.Version
			if u.Version == "" {
				if targets, err = reg.ListVersions(c.Context, ref.Project, ref.Name, c.Bool("force")); err != nil {
					return err
				}
			} else {
				opts := []registry.ResolveOption{}
				if c.Bool("force") {
					opts = append(opts, registry.IncludeRemoved())
				}
				v, err := reg.Resolve(c.Context, ref.Project, ref.Name, ref.Version, opts...)
				if err != nil {
					return err
				}
				targets = []registry.Version{v}
			}
			var done []string
			for _, v := range targets {
				if err := reg.Remove(c.Context, ref.Project, ref.Name, string(v.Digest), c.Bool("force")); err != nil {
					return err
				}
				done = append(done, v.Short)
			}
			if a.json() {
				return printJSON(map[string]any{"name": ref.Name, "removed": done, "force": c.Bool("force")})
			}
			how := "removed (recover with swcli runtime recover)"
			if c.Bool("force") {
				how = "deleted"
			}
			fmt.Printf("%s %s: %s\n", ref.Name, strings.Join(done, ", "), how)
			return nil
		},
	}
}

func recoverCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "recover",
		Usage:     "recover a removed version (by tag, short or full version)",
		ArgsUsage: "URI",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usage(c, "give one runtime URI with a version or tag")
			}
			u, err := uri.Parse(c.Args().First())
			if err != nil {
				return err
			}
			if u.Version == "" {
				return usage(c, "name the version to recover: NAME/version/VERSION (swcli runtime history NAME --show-removed lists them)")
			}
			ref, err := workflow.ParseRef(c.Args().First())
			if err != nil {
				return err
			}
			reg, err := a.local()
			if err != nil {
				return err
			}
			v, err := reg.Recover(c.Context, ref.Project, ref.Name, ref.Version)
			if err != nil {
				return err
			}
			if a.json() {
				return printJSON(v)
			}
			fmt.Printf("recovered %s %s\n", ref.Name, v.String())
			return nil
		},
	}
}

func gcCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:  "gc",
		Usage: "free blobs no version uses, and caches of deleted versions",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "only say what would be freed"},
			&cli.DurationFlag{Name: "grace", Value: time.Hour, Usage: "keep blobs younger than this (a build may be using them)"},
		},
		Action: func(c *cli.Context) error {
			svc, err := a.service()
			if err != nil {
				return err
			}
			st, err := svc.GC(c.Context, c.Duration("grace"), c.Bool("dry-run"))
			if err != nil {
				return err
			}
			if a.json() {
				return printJSON(st)
			}
			fmt.Printf("freed %d blobs (%s), kept %d; removed %d cached environments\n", st.BlobsFreed, humanSize(st.BytesFreed), st.BlobsKept, st.CachesRemoved)
			lc := st.LayerCache
			fmt.Printf("layer cache: freed %d layers (%s); %d layers (%s) kept\n", lc.Freed.Entries, humanSize(lc.Freed.Bytes), lc.Kept.Entries, humanSize(lc.Kept.Bytes))
			return nil
		},
	}
}

func copyCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "copy",
		Aliases:   []string{"cp"},
		Usage:     "copy a version to a .swrt file, or a .swrt file into a project",
		ArgsUsage: "SRC DEST",
		Flags:     []cli.Flag{&cli.StringSliceFlag{Name: "tag", Aliases: []string{"t"}, Usage: "tag the imported version (repeatable)"}, &cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "overwrite an existing DEST file"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usage(c, "give SRC and DEST, e.g. swcli runtime copy mnist/version/latest ./mnist.swrt")
			}
			src, dst := c.Args().Get(0), c.Args().Get(1)
			svc, err := a.service()
			if err != nil {
				return err
			}
			switch {
			case uri.IsFile(src):
				u, err := uri.Parse(dst)
				if err != nil {
					return err
				}
				if u.Kind() != uri.KindProject && u.Kind() != uri.KindRuntime {
					return usage(c, "DEST %q must be a project (local/project/P) when SRC is a .swrt file", dst)
				}
				if !u.IsLocal() {
					return usage(c, "copying to instance %s is not supported yet; only the local instance", u.Instance)
				}
				v, err := svc.Import(c.Context, src, u.Project, c.StringSlice("tag"))
				a.doneEvents()
				if err != nil {
					return err
				}
				if a.json() {
					return printJSON(v)
				}
				fmt.Printf("imported %s %s into project %s\n", v.Name, v.String(), u.Project)
				return nil
			case uri.IsFile(dst):
				if _, err := os.Stat(dst); err == nil && !c.Bool("force") {
					return usage(c, "%s exists; pass --force to overwrite it", dst)
				}
				ref, err := workflow.ParseRef(src)
				if err != nil {
					return err
				}
				v, err := svc.Export(c.Context, ref, dst)
				a.doneEvents()
				if err != nil {
					return err
				}
				if a.json() {
					return printJSON(map[string]any{"name": v.Name, "version": v.Short, "digest": v.Digest, "file": dst})
				}
				fmt.Printf("wrote %s %s to %s\n", v.Name, v.Short, dst)
				return nil
			}
			return usage(c, "one of SRC and DEST must be a .swrt file (copying between instances is not supported yet)")
		},
	}
}

func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format(time.DateTime)
}

// local opens the local instance's registry.
func (a *appState) local() (*registry.Registry, error) {
	svc, err := a.service()
	if err != nil {
		return nil, err
	}
	reg, _, err := svc.Local()
	return reg, err
}
