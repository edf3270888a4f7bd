package main

// restore.go: the figures of `swcli runtime restore` and `runtime run`
// (issue 4) on the synthetic environment of gen.go (built once, see
// rtBench.ensureBuilt), each against a baseline measured in the same run,
// the two alternated so that machine load affects both alike:
//
//   - restore/tar: the fast path (`swcli runtime restore NAME --target-dir
//     D`, a fresh D each run) against `zstd -d | tar -x` of the same files
//     (target <= 1.3x);
//   - restore/pip: the fast path against `python -m venv` plus `pip install
//     --no-index --find-links WHEELS` of the same wheels (target >= 5x
//     faster);
//   - restore/run: `swcli runtime run NAME -- python -c pass` with a warm
//     cache against ENV/bin/python -c pass (target <= 50 ms over, medians
//     of 20).

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func init() {
	register(Benchmark{Name: "build", Run: func(env *Env) error { return rtBuild(env.Bin, rtOutDir(env.Bin)) }})
	register(Benchmark{Name: "restore", Run: func(env *Env) error { return rtRestore(env.Bin, rtOutDir(env.Bin), env.Runs) }})
}

// rtOutDir is $SWCLI_BENCH_OUT, else bench/out of the repository holding
// the bin folder, else bench/out in the current folder.
func rtOutDir(bin string) string {
	if v := os.Getenv("SWCLI_BENCH_OUT"); v != "" {
		return v
	}
	if abs, err := filepath.Abs(bin); err == nil {
		repo := filepath.Dir(abs)
		if _, err := os.Stat(filepath.Join(repo, "go.mod")); err == nil {
			return filepath.Join(repo, "bench", "out")
		}
	}
	return filepath.Join("bench", "out")
}

// rtBuiltWithBaseline is rtSetup with the version built and the baseline
// archive of its environment made: where the restore and cache benchmarks
// start.
func rtBuiltWithBaseline(bin, out string) (*rtBench, error) {
	r, err := rtSetup(bin, out)
	if err != nil {
		return nil, err
	}
	if _, err := r.ensureBuilt(); err != nil {
		return nil, err
	}
	return r, r.ensureBaselineArchive()
}

func rtRestore(bin, out string, runs int) error {
	r, err := rtBuiltWithBaseline(bin, out)
	if err != nil {
		return err
	}
	runs = min(max(runs, 1), 3) // each run unpacks the whole environment
	scratch := filepath.Join(r.out, "restore")
	// fresh gives a new folder, with the writes of the previous run flushed
	// (sync), so that neither side pays for the other's writeback. Trees
	// are removed only after all the timings: on this filesystem, removing
	// 600 MB just before a timed run slows the file creations of that run.
	if err := os.RemoveAll(scratch); err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	fresh := r.freshDirs(scratch)
	var sw, untar []time.Duration
	for i := 0; i < runs; i++ {
		d, err := fresh("swcli")
		if err != nil {
			return err
		}
		t, err := r.swcli("runtime", "restore", r.name, "--target-dir", d)
		if err != nil {
			return err
		}
		sw = append(sw, t)
		if d, err = fresh("tar"); err != nil {
			return err
		}
		t, err = r.sh(fmt.Sprintf("mkdir -p %q && zstd -d -q -c %q | tar -x -C %q", d, r.baselineArchive(), d))
		if err != nil {
			return err
		}
		untar = append(untar, t)
	}
	a, b := rtMedian(sw), rtMedian(untar)
	rtLine("restore/tar", fmt.Sprintf("swcli runtime restore %s vs zstd -d | tar -x %s (median of %d)", rtSecs(a), rtSecs(b), runs),
		a.Seconds()/b.Seconds(), "<= 1.30x", a.Seconds() <= 1.3*b.Seconds())

	// pip install of the same wheels into a fresh venv (once: it is slow).
	d, err := fresh("pip")
	if err != nil {
		return err
	}
	req := filepath.Join(r.out, "pip-requirements.txt")
	if err := os.WriteFile(req, rtRequirements(r.wheels, r.pkgs), 0o644); err != nil {
		return err
	}
	pip, err := r.sh(fmt.Sprintf("%q -m venv %q && %q/bin/python -m pip install -q --disable-pip-version-check --no-index --find-links %q -r %q",
		r.python.Path, d, d, r.wheels, req))
	if err != nil {
		return err
	}
	rtLine("restore/pip", fmt.Sprintf("python -m venv + pip install --no-index --find-links %s vs swcli runtime restore %s (faster by)", rtSecs(pip), rtSecs(a)),
		pip.Seconds()/a.Seconds(), ">= 5.00x", pip.Seconds() >= 5*a.Seconds())

	// runtime run with a warm cache against the environment's python.
	if _, err := r.swcli("runtime", "run", r.name, "--", "python", "-c", "pass"); err != nil { // warms the cache
		return err
	}
	const n = 20
	var run, plain []time.Duration
	py := filepath.Join(r.prefix, "bin", "python")
	for i := 0; i < n; i++ {
		t, err := r.swcli("runtime", "run", r.name, "--", "python", "-c", "pass")
		if err != nil {
			return err
		}
		run = append(run, t)
		_, t, err = r.runIn(r.env, py, "-c", "pass")
		if err != nil {
			return err
		}
		plain = append(plain, t)
	}
	a, b = rtMedian(run), rtMedian(plain)
	over := a - b
	fmt.Printf("restore/run: swcli runtime run -- python -c pass %s vs ENV/bin/python -c pass %s = %s over, %.2fx (median of %d; target <= 50ms over)%s\n",
		rtSecs(a), rtSecs(b), rtSecs(over), a.Seconds()/b.Seconds(), n, map[bool]string{true: "", false: "  MISSED"}[over <= 50*time.Millisecond])
	return nil
}

// ensureBaselineArchive makes OUT/run/baseline.tar.zst (the environment's
// files by tar | zstd) unless the build benchmark made it.
func (r *rtBench) ensureBaselineArchive() error {
	if _, err := os.Stat(r.baselineArchive()); err == nil {
		return nil
	}
	plan, err := r.plan(context.Background())
	if err != nil {
		return err
	}
	_, err = r.tarZstd(plan)
	return err
}
