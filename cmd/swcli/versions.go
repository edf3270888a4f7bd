package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
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
		buildCommand(a), listCommand(a, registry.KindRuntime), infoCommand(a), historyCommand(a, registry.KindRuntime),
		tagCommand(a, registry.KindRuntime), removeCommand(a, registry.KindRuntime), recoverCommand(a, registry.KindRuntime),
		gcCommand(a, registry.KindRuntime), copyCommand(a, registry.KindRuntime),
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
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "runtime-yaml", Aliases: []string{"f"}, Usage: "runtime.yaml to use, relative to WORKDIR"},
			projectFlag(),
			&cli.StringSliceFlag{Name: "tag", Aliases: []string{"t"}, Usage: "add a tag (repeatable)"},
			&cli.BoolFlag{Name: "lock-only", Usage: "store the lock and the snapshot only, no environment layers"},
			&cli.BoolFlag{Name: "no-cache", Usage: "remake the environment from scratch and repack every layer"},
			&cli.BoolFlag{Name: "include-editable", Usage: "pack editable installs as regular files instead of refusing them"},
			&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Usage: "runtime name (default: the name in runtime.yaml)"},
			&cli.StringFlag{Name: "cuda", Usage: "CUDA version X.Y the runtime needs (replaces environment.cuda)"},
			&cli.StringFlag{Name: "cudnn", Usage: "cuDNN version N (replaces environment.cudnn)"},
			&cli.StringSliceFlag{Name: "arch", Usage: "architecture: noarch, amd64, arm64 (replaces environment.arch; repeatable)"},
			&cli.BoolFlag{Name: "dump-pip-options", Aliases: []string{"dpo"}, Usage: "put your pip config, secrets masked, into the bundle"},
			&cli.BoolFlag{Name: "dump-condarc", Aliases: []string{"dcc"}, Usage: "put your condarc, secrets masked, into the bundle"},
			&cli.StringFlag{Name: "push", Usage: "after the build, copy the version to this instance, project or .swrt file"},
			&cli.BoolFlag{Name: "force-push", Usage: "with --push: overwrite a file and move tags at the destination"},
			&cli.BoolFlag{Name: "disable-env-lock", Aliases: []string{"del"}, Usage: "do not lock the environment: the requirements as written are the lock (restore --from-lock installs them as written)"},
		}, envSourceFlags("build")...),
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usage(c, "give one WORKDIR, got %d arguments", c.NArg())
			}
			if c.Bool("force-push") && c.String("push") == "" {
				return usage(c, "--force-push needs --push URI")
			}
			svc, err := a.service()
			if err != nil {
				return err
			}
			// Open the push destination first: a bad one stores nothing.
			var dst instance.Instance
			var du uri.URI
			if p := c.String("push"); p != "" {
				if dst, du, err = a.open(c, p); err != nil {
					return err
				}
				if du.Kind() == uri.KindVersion {
					return usage(c, "--push %q names a version; give an instance, a project ([INSTANCE/]project/P) or a .swrt file", p)
				}
			}
			from := envSource(c)
			wd := c.Args().First()
			if wd == "" && !from.Given() {
				wd = "."
			}
			res, err := svc.Build(c.Context, workflow.BuildOptions{Workdir: wd, SpecFile: c.String("runtime-yaml"), From: from,
				Project: c.String("project"), Tags: c.StringSlice("tag"), LockOnly: c.Bool("lock-only"),
				NoCache: c.Bool("no-cache"), IncludeEditable: c.Bool("include-editable"),
				Overrides:     spec.Overrides{Name: c.String("name"), CUDA: c.String("cuda"), CUDNN: c.String("cudnn"), Arch: c.StringSlice("arch")},
				DumpPipConfig: c.Bool("dump-pip-options"), DumpCondarc: c.Bool("dump-condarc"), DisableEnvLock: c.Bool("disable-env-lock")})
			a.doneEvents()
			if err != nil {
				return err
			}
			out := struct {
				*workflow.BuildResult
				Pushed *instance.CopyResult `json:"pushed,omitempty"`
			}{BuildResult: res}
			if dst != nil {
				l, err := svc.Instances().Local()
				if err != nil {
					return err
				}
				pr, err := instance.Copy(a.byteProgress(c.Context), l, instance.Ref{Project: c.String("project"), Name: res.Name, Version: res.Digest},
					dst, instance.RefOf(du), instance.CopyOptions{Force: c.Bool("force-push"), Progress: a.copyProgress()})
				a.doneEvents()
				if err != nil {
					return fmt.Errorf("built %s version %s, but --push failed: %w", res.Name, res.Version, err)
				}
				out.Pushed = &pr
			}
			return a.render(out, func() {
				fmt.Printf("built %s version %s (%s), %s in %d layers (%d reused)\n", res.Name, res.Version,
					strings.Join(res.Tags, ", "), humanSize(res.Size), res.Layers, res.Reused)
				fmt.Println(res.URI)
				if out.Pushed != nil {
					fmt.Printf("pushed to %s (%d of %d blobs sent, %s)\n", dst.URI(out.Pushed.Version).String(),
						out.Pushed.Copied, out.Pushed.Blobs, humanSize(out.Pushed.BytesCopied))
				}
			})
		},
	}
}

func listCommand(a *appState, k registry.Kind) *cli.Command {
	return &cli.Command{
		Name:      "list",
		Aliases:   []string{"ls"},
		Usage:     kindText(k, "list the runtimes of a project"),
		ArgsUsage: "[[INSTANCE/]project/P]",
		Flags: []cli.Flag{projectFlag(),
			&cli.BoolFlag{Name: "show-removed", Aliases: []string{"sr"}, Usage: "add each removed version as its own row"},
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"fl"}, Usage: "filter (repeatable): " + strings.Join(workflow.ListFilters, ", ")},
			&cli.IntFlag{Name: "page", Value: 1, Usage: "page to show, from 1"},
			&cli.IntFlag{Name: "size", Value: 0, Usage: "rows a page (0: all)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usage(c, "give at most one project URI ([INSTANCE/]project/P), or use --project")
			}
			arg := "project/" + c.String("project")
			if c.NArg() == 1 {
				arg = c.Args().First()
			}
			inst, u, err := a.openOf(c, k, arg)
			if err != nil {
				return err
			}
			if u.Kind() != uri.KindProject && u.Kind() != uri.KindFile {
				return usage(c, "%q names a %s; give a project ([INSTANCE/]project/P)", arg, u.Kind())
			}
			page, err := workflow.List(c.Context, inst, workflow.ListOptions{Project: u.Project, Filters: c.StringSlice("filter"),
				ShowRemoved: c.Bool("show-removed"), Page: c.Int("page"), Size: c.Int("size")})
			if err != nil {
				return err
			}
			return a.render(page.Rows, func() {
				var rows [][]string
				for _, v := range page.Rows {
					state := ""
					if v.Removed {
						state = "removed"
					}
					rows = append(rows, []string{v.Name, v.Short, strings.Join(v.Tags, ","), humanSize(v.Size), ago(v.Created), state})
				}
				printTable([]string{"NAME", "VERSION", "TAGS", "SIZE", "CREATED", ""}, rows)
				if page.Pages > 1 {
					fmt.Printf("page %d of %d (%d rows; --page N for another)\n", page.Page, page.Pages, page.Total)
				}
			})
		},
	}
}

func historyCommand(a *appState, k registry.Kind) *cli.Command {
	return &cli.Command{
		Name:      "history",
		Usage:     kindText(k, "list the versions of a runtime, newest first"),
		ArgsUsage: "NAME|URI",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "show-removed", Aliases: []string{"sr"}, Usage: "include removed versions"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usage(c, "%s", kindText(k, "give one runtime NAME or URI"))
			}
			inst, u, err := a.openKind(c, k, c.Args().First())
			if err != nil {
				return err
			}
			vs, err := inst.ListVersions(c.Context, u.Project, u.Name, c.Bool("show-removed"))
			if err != nil {
				return err
			}
			return a.render(nonNil(vs), func() {
				var rows [][]string
				for _, v := range vs {
					state := ""
					if v.Removed {
						state = "removed"
					}
					rows = append(rows, []string{v.Short, strings.Join(v.Tags, ","), humanSize(v.Size), v.Created.Local().Format(time.DateTime), state})
				}
				printTable([]string{"VERSION", "TAGS", "SIZE", "CREATED", ""}, rows)
			})
		},
	}
}

// infoFilters are the parts `runtime info -of` shows.
var infoFilters = []string{"basic", "runtime_yaml", "manifest", "lock", "all"}

func infoCommand(a *appState) *cli.Command {
	return &cli.Command{
		Name:      "info",
		Usage:     "show a stored version: what its manifest holds",
		ArgsUsage: "URI|FILE.swrt",
		Flags: []cli.Flag{&cli.StringFlag{Name: "output-filter", Aliases: []string{"of"}, Value: "basic",
			Usage: strings.Join(infoFilters, ", ")}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usage(c, "give one runtime URI (NAME, NAME/version/VERSION ...)")
			}
			filter := c.String("output-filter")
			if !slices.Contains(infoFilters, filter) {
				return usage(c, "--output-filter %q is not a filter; allowed: %s", filter, strings.Join(infoFilters, ", "))
			}
			inst, u, err := a.openRuntime(c, c.Args().First())
			if err != nil {
				return err
			}
			svc, err := a.service()
			if err != nil {
				return err
			}
			b, err := svc.Info(c.Context, inst, instance.RefOf(u))
			if err != nil {
				return err
			}
			has := func(f string) bool { return filter == f || filter == "all" }
			out := map[string]any{}
			basic := map[string]any{"name": b.Manifest.Name, "version": b.Version.Short, "digest": b.Version.Digest,
				"tags": b.Version.Tags, "mode": b.Manifest.Mode, "python": b.Manifest.Python, "os": b.Manifest.OS,
				"arch": b.Manifest.Arch, "platform": b.Manifest.Platform, "abi": b.Manifest.ABI, "size": b.Version.Size,
				"created": b.Version.Created, "lock_only": b.Manifest.LockOnly, "lock_disabled": b.Manifest.LockDisabled, "swcli_version": b.Manifest.SwcliVersion,
				"layers": len(b.OCI.Layers), "packages": len(b.Manifest.Lock), "uri": inst.URI(b.Version).String()}
			if has("basic") {
				out["basic"] = basic
			}
			var yamlText []byte
			if has("runtime_yaml") {
				if yamlText, err = svc.SnapshotFile(c.Context, inst, b, b.Manifest.SpecFile); err != nil {
					return err
				}
				out["runtime_yaml"] = string(yamlText)
			}
			if has("manifest") {
				out["manifest"] = b.Manifest
				out["oci_manifest"] = json.RawMessage(b.Raw)
			}
			if has("lock") {
				out["lock"] = b.Manifest.Lock
			}
			if a.json() || filter == "all" || filter == "manifest" {
				return printJSON(out)
			}
			switch filter {
			case "runtime_yaml":
				_, err := os.Stdout.Write(yamlText)
				return err
			case "basic":
				printTable([]string{"FIELD", "VALUE"}, fieldRows(basic, []string{"name", "version", "digest", "tags", "mode", "python", "os", "arch", "platform", "abi", "size", "created", "layers", "packages", "lock_only", "lock_disabled", "swcli_version", "uri"}))
			case "lock":
				var rows [][]string
				for _, p := range b.Manifest.Lock {
					rows = append(rows, []string{p.Name, p.Version, p.Installer, p.Source})
				}
				printTable([]string{"PACKAGE", "VERSION", "INSTALLER", "SOURCE"}, rows)
			}
			return nil
		},
	}
}

func tagCommand(a *appState, k registry.Kind) *cli.Command {
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
				return usage(c, "%s", kindText(k, "give a runtime URI and tags"))
			}
			inst, u, err := a.openKind(c, k, c.Args().First())
			if err != nil {
				return err
			}
			ref, tags := instance.RefOf(u), c.Args().Slice()[1:]
			var v instance.Version
			switch {
			case len(tags) == 0:
				v, err = inst.Resolve(c.Context, ref, false)
			case c.Bool("remove"):
				v, err = inst.Untag(c.Context, ref, tags)
			default:
				v, err = inst.Tag(c.Context, ref, tags, c.Bool("force"))
			}
			if err != nil {
				return err
			}
			return a.render(v, func() { fmt.Printf("%s %s: %s\n", v.Name, v.Short, strings.Join(v.Tags, ", ")) })
		},
	}
}

func removeCommand(a *appState, k registry.Kind) *cli.Command {
	return &cli.Command{
		Name:      "remove",
		Aliases:   []string{"rm"},
		Usage:     kindText(k, "remove a version (recoverable unless --force); without a version, every version of the runtime"),
		ArgsUsage: "URI",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "delete for good (blobs are freed by gc)"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usage(c, "%s", kindText(k, "give one runtime URI"))
			}
			inst, u, err := a.openKind(c, k, c.Args().First())
			if err != nil {
				return err
			}
			gone, err := inst.Remove(c.Context, instance.RefOf(u), c.Bool("force"))
			if err != nil {
				return err
			}
			done := make([]string, len(gone))
			for i, v := range gone {
				done[i] = v.Short
			}
			out := map[string]any{"name": u.Name, "removed": done, "force": c.Bool("force")}
			return a.render(out, func() {
				how := kindText(k, "removed (recover with swcli runtime recover)")
				if c.Bool("force") {
					how = "deleted"
				}
				fmt.Printf("%s %s: %s\n", u.Name, strings.Join(done, ", "), how)
			})
		},
	}
}

func recoverCommand(a *appState, k registry.Kind) *cli.Command {
	return &cli.Command{
		Name:      "recover",
		Usage:     "recover a removed version (by tag, short or full version)",
		ArgsUsage: "URI",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usage(c, "%s", kindText(k, "give one runtime URI with a version or tag"))
			}
			inst, u, err := a.openKind(c, k, c.Args().First())
			if err != nil {
				return err
			}
			if u.Version == "" {
				return usage(c, "%s", kindText(k, "name the version to recover: NAME/version/VERSION (swcli runtime history NAME --show-removed lists them)"))
			}
			v, err := inst.Recover(c.Context, instance.RefOf(u))
			if err != nil {
				return err
			}
			return a.render(v, func() { fmt.Printf("recovered %s %s\n", u.Name, v.String()) })
		},
	}
}

func gcCommand(a *appState, k registry.Kind) *cli.Command {
	return &cli.Command{
		Name:      "gc",
		Usage:     "free blobs no version uses, and caches of deleted versions",
		ArgsUsage: "[INSTANCE/project/P]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "only say what would be freed"},
			&cli.DurationFlag{Name: "grace", Value: registry.DefaultGracePeriod, Usage: "keep blobs younger than this (a build may be using them)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usage(c, "give at most one instance, as INSTANCE/project/P")
			}
			arg := "project/" + uri.DefaultProject
			if c.NArg() == 1 {
				arg = c.Args().First()
			}
			inst, _, err := a.openOf(c, k, arg)
			if err != nil {
				return err
			}
			svc, err := a.service()
			if err != nil {
				return err
			}
			st, err := svc.GC(c.Context, inst, instance.GCOptions{Grace: c.Duration("grace"), DryRun: c.Bool("dry-run")})
			if err != nil {
				return err
			}
			return a.render(st, func() {
				fmt.Printf("freed %d blobs (%s), kept %d; removed %d cached environments\n", st.BlobsFreed, humanSize(st.BytesFreed), st.BlobsKept, st.CachesRemoved)
				lc := st.LayerCache
				fmt.Printf("layer cache: freed %d layers (%s); %d layers (%s) kept\n", lc.Freed.Entries, humanSize(lc.Freed.Bytes), lc.Kept.Entries, humanSize(lc.Kept.Bytes))
				fmt.Printf("mode caches: freed %d entries (%s) of interpreters that no longer exist\n", st.ModeCaches.Entries, humanSize(st.ModeCaches.Bytes))
			})
		},
	}
}

func copyCommand(a *appState, k registry.Kind) *cli.Command {
	return &cli.Command{
		Name:      "copy",
		Aliases:   []string{"cp"},
		Usage:     kindText(k, "copy a version between instances, projects and .swrt files (only the blobs DEST lacks move)"),
		ArgsUsage: "SRC DEST",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "tag", Aliases: []string{"t"}, Usage: "tag the version at DEST (repeatable)"},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "overwrite an existing DEST file; move SRC's tags at DEST even when they are on another version"},
			&cli.StringSliceFlag{Name: "ignore-tag", Aliases: []string{"i"}, Usage: "a tag of SRC not to carry to DEST (repeatable)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usage(c, "%s", kindText(k, "give SRC and DEST, e.g. swcli runtime copy mnist/version/latest ./mnist.swrt"))
			}
			src, su, err := a.openOf(c, k, c.Args().Get(0))
			if err != nil {
				return err
			}
			dst, du, err := a.openOf(c, k, c.Args().Get(1))
			if err != nil {
				return err
			}
			switch {
			case su.Kind() == uri.KindProject:
				return usage(c, kindText(k, "SRC %q is a project; name a runtime or version (NAME[/version/V]) or a .swrt file"), su.String())
			case du.Kind() == uri.KindVersion && du.Repository == "":
				// oci://HOST/REPO:TAG names the tag the pushed version gets.
				return usage(c, kindText(k, "DEST %q names a version; give a project ([INSTANCE/]project/P), a runtime in one, oci://HOST/REPO[:TAG], or a .swrt file"), du.String())
			case su.Kind() == uri.KindFile && du.Kind() == uri.KindFile:
				return usage(c, kindText(k, "DEST %q must be a project (local/project/P) when SRC is a .swrt file"), du.File)
			case du.Kind() == uri.KindFile && len(c.StringSlice("tag")) > 0:
				return usage(c, "%s", kindText(k, "-t: a .swrt file keeps no tags; tag the version where you copy the file to"))
			}
			res, err := instance.Copy(a.byteProgress(c.Context), src, instance.RefOf(su), dst, instance.RefOf(du),
				instance.CopyOptions{Tags: c.StringSlice("tag"), Force: c.Bool("force"), IgnoreTags: c.StringSlice("ignore-tag"), Progress: a.copyProgress()})
			a.doneEvents()
			if err != nil {
				return err
			}
			return a.render(res, func() {
				fmt.Printf("copied %s %s to %s (%d of %d blobs sent, %s)\n", res.From.Name, res.From.Short,
					dst.URI(res.Version).String(), res.Copied, res.Blobs, humanSize(res.BytesCopied))
				if len(res.TagsKept) > 0 {
					fmt.Printf("kept tags %s where they are at DEST (on other versions; --force moves them)\n", strings.Join(res.TagsKept, ", "))
				}
			})
		},
	}
}

// fieldRows are the FIELD/VALUE rows of an info table: the keys of m in
// order, lists joined, sizes human, times local.
func fieldRows(m map[string]any, keys []string) [][]string {
	var rows [][]string
	for _, k := range keys {
		v := m[k]
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
	return rows
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

// open parses arg and opens the instance (or .swrt file) it names; the
// place is closed when the command ends.
func (a *appState) open(c *cli.Context, arg string) (instance.Instance, uri.URI, error) {
	u, err := uri.Parse(arg)
	if err != nil {
		return nil, u, err
	}
	return a.openURI(c, u)
}

// openURI opens the place u names, closed when the command ends.
func (a *appState) openURI(c *cli.Context, u uri.URI) (instance.Instance, uri.URI, error) {
	svc, err := a.service()
	if err != nil {
		return nil, u, err
	}
	inst, err := svc.Instances().Open(c.Context, u)
	if err != nil {
		return nil, u, err
	}
	a.closers = append(a.closers, inst)
	return inst, u, nil
}

// openOf is open for an argument that names an artifact of kind k: a URI
// that does not say its kind (NAME, a project) names one of kind k, and one
// of another kind (a dataset URI given as a model) is refused.
func (a *appState) openOf(c *cli.Context, k registry.Kind, arg string) (instance.Instance, uri.URI, error) {
	u, err := uri.Parse(arg)
	if err != nil {
		return nil, u, err
	}
	if u.Artifact != "" && u.Artifact != string(k) {
		return nil, u, usage(c, "%q names a %s; give a %s", arg, u.Artifact, k.Noun())
	}
	if u.Artifact == "" {
		u.Artifact = string(k)
	}
	return a.openURI(c, u)
}

// openKind is openOf for an argument that must name an artifact or a
// version (or a bundle file).
func (a *appState) openKind(c *cli.Context, k registry.Kind, arg string) (instance.Instance, uri.URI, error) {
	inst, u, err := a.openOf(c, k, arg)
	if err == nil && u.Kind() == uri.KindProject {
		err = usage(c, "%q names a project; a %s is needed (NAME, NAME/version/VERSION or [INSTANCE/]project/P/%s/NAME[/version/V])", arg, k.Noun(), k.Noun())
	}
	return inst, u, err
}

// kindText is help or message text written for runtimes, said of kind k:
// "runtime" becomes the kind's noun and ".swrt" its bundle extension.
func kindText(k registry.Kind, s string) string {
	if k == registry.KindRuntime {
		return s
	}
	return strings.NewReplacer("runtime", k.Noun(), ".swrt", uri.ExtOf(string(k))).Replace(s)
}

// openRuntime is openKind for a runtime.
func (a *appState) openRuntime(c *cli.Context, arg string) (instance.Instance, uri.URI, error) {
	return a.openKind(c, registry.KindRuntime, arg)
}
