package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/server/console/consoletest"
	"github.com/swcli/swcli/core/workflow"
)

// flags: the figures of issue 16's commands.
//   - flags-diff: `runtime diff` (workflow.Service.Diff, in process) of two
//     versions with 300 locked packages, 30 of them changed; target < 100 ms.
//     Baseline: loading both versions' manifests (workflow.LoadBundle), the
//     least a diff must read.
//   - flags-complete: `swcli __complete` of runtime names and of one
//     runtime's versions with 500 versions in the store (a process each, as
//     the shell runs it); target < 50 ms. Baseline: `swcli --version`.
//   - flags-fromenv: `runtime build -v PREFIX` of the bench generator's
//     600 MiB venv against `runtime build WORKDIR` of the same environment,
//     both with their layer caches and memos dropped (every layer packed
//     again, the blobs already stored); target <= 1.05x.
func init() {
	register(Benchmark{Name: "flags-diff", Run: benchDiff})
	register(Benchmark{Name: "flags-complete", Run: benchComplete})
	register(Benchmark{Name: "flags-fromenv", Run: func(env *Env) error { return benchFromEnv(env, rtOutDir(env.Bin)) }})
}

// benchStore is a local instance under dir with the builder that fills it.
func benchStore(dir string) (*instance.Local, *consoletest.Builder, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp-builder"), 0o755); err != nil {
		return nil, nil, err
	}
	l, err := instance.OpenLocal(dir)
	if err != nil {
		return nil, nil, err
	}
	return l, &consoletest.Builder{Reg: l.Registry(), Dir: filepath.Join(dir, "tmp-builder")}, nil
}

func benchDiff(env *Env) error {
	ctx := context.Background()
	root := filepath.Join(env.Tmp, "flags-diff")
	l, b, err := benchStore(root)
	if err != nil {
		return err
	}
	pkgs := consoletest.Packages(300, 1)
	if _, err := b.Build(ctx, consoletest.Runtime{Project: instance.DefaultProject, Name: "big", Packages: pkgs, YAML: "name: big\nmode: venv\n"}); err != nil {
		return err
	}
	for i := 0; i < 30; i++ {
		pkgs[i*10].Version += ".post1"
	}
	if _, err := b.Build(ctx, consoletest.Runtime{Project: instance.DefaultProject, Name: "big", Packages: pkgs, YAML: "name: big\nmode: venv\n# changed\n"}); err != nil {
		return err
	}
	svc := &workflow.Service{StorageRoot: root}
	va, vb := instance.Ref{Project: instance.DefaultProject, Name: "big", Version: "v0"}, instance.Ref{Project: instance.DefaultProject, Name: "big", Version: "v1"}
	var d *workflow.Diff
	diff, err := timeIt(1, env.Runs, func() error {
		var err error
		d, err = svc.Diff(ctx, l, va, l, vb)
		return err
	})
	if err != nil {
		return err
	}
	base, err := timeIt(1, env.Runs, func() error {
		for _, r := range []instance.Ref{va, vb} {
			if _, err := svc.Info(ctx, l, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(d.Changed) != 30 || d.SpecDiff == "" {
		return fmt.Errorf("flags-diff: the diff found %d changed packages and spec diff %q, want 30 and one", len(d.Changed), d.SpecDiff)
	}
	env.Printf("flags-diff: runtime diff of 300 packages %s (target < 100ms%s), loading both manifests %s, ratio %.2fx",
		ms(diff), missed(diff < 100*time.Millisecond), ms(base), float64(diff)/float64(base))
	return nil
}

func benchComplete(env *Env) error {
	ctx := context.Background()
	root := filepath.Join(env.Tmp, "flags-complete")
	_, b, err := benchStore(root)
	if err != nil {
		return err
	}
	for i := 0; i < 500; i++ {
		if _, err := b.Build(ctx, consoletest.Runtime{Project: instance.DefaultProject, Name: fmt.Sprintf("rt-%03d", i%50), Packages: consoletest.Packages(5, 0),
			YAML: fmt.Sprintf("name: x\n# %d\n", i)}); err != nil {
			return err
		}
	}
	cmdEnv := append(os.Environ(), "SW_LOCAL_STORAGE="+root)
	run := func(args ...string) func() error {
		return func() error {
			cmd := exec.Command(env.SWCLI(), args...)
			cmd.Env = cmdEnv
			out, err := cmd.Output()
			if err == nil && len(out) == 0 && args[0] == "__complete" {
				err = fmt.Errorf("%v completed nothing", args)
			}
			return err
		}
	}
	base, err := timeIt(2, env.Runs, run("--version"))
	if err != nil {
		return err
	}
	for _, c := range [][]string{{"__complete", "runtime", "info", "rt-"}, {"__complete", "runtime", "info", "rt-007/version/"}} {
		d, err := timeIt(2, env.Runs, run(c...))
		if err != nil {
			return err
		}
		env.Printf("flags-complete: %q with 500 versions %s (target < 50ms%s), swcli --version %s, ratio %.2fx",
			c[len(c)-1], ms(d), missed(d < 50*time.Millisecond), ms(base), float64(d)/float64(base))
	}
	return nil
}

func benchFromEnv(env *Env, out string) error {
	r, err := rtSetup(env.Bin, out)
	if err != nil {
		return err
	}
	if _, err := r.ensureBuilt(); err != nil {
		return err
	}
	dropCaches := func() error {
		for _, p := range []string{filepath.Join(r.wd, ".starwhale", "cache"), filepath.Join(r.storage, "fromenv")} {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		}
		_, err := r.sh("sync")
		return err
	}
	var wdTimes, envTimes []time.Duration
	for i := 0; i < env.Runs; i++ {
		if err := dropCaches(); err != nil {
			return err
		}
		d, err := r.swcli("runtime", "build", r.wd)
		if err != nil {
			return err
		}
		wdTimes = append(wdTimes, d)
		if err := dropCaches(); err != nil {
			return err
		}
		if d, err = r.swcli("runtime", "build", "-v", r.prefix, "-n", r.name); err != nil {
			return err
		}
		envTimes = append(envTimes, d)
	}
	wdT, envT := rtMedian(wdTimes), rtMedian(envTimes)
	ratio := float64(envT) / float64(wdT)
	rtLine("flags-fromenv", fmt.Sprintf("build -v of the %s venv %s vs build WORKDIR %s", rtBytes(r.bytes), rtSecs(envT), rtSecs(wdT)), ratio, "<= 1.05x", ratio <= 1.05)
	return nil
}

func missed(ok bool) string {
	if ok {
		return ""
	}
	return ", MISSED"
}
