package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/swcli/swcli/sdk/testpy"
)

// create: `swcli runtime create` of a runtime with no dependencies against
// `python -m venv` with the same interpreter, alternating the two so that
// machine load affects both alike. Target: at most 1.1x.
func init() {
	register(Benchmark{Name: "create", Run: func(env *Env) error {
		py, err := benchPython()
		if err != nil {
			return err
		}
		var sw, venv []time.Duration
		for i := 0; i < env.Runs; i++ {
			wd := filepath.Join(env.Tmp, fmt.Sprintf("create-%d", i))
			start := time.Now()
			out, err := exec.Command(env.SWCLI(), "runtime", "create", "--name", "bench", "--python", py.Version, wd).CombinedOutput()
			if err != nil {
				return fmt.Errorf("swcli runtime create: %v: %s", err, out)
			}
			sw = append(sw, time.Since(start))

			dir := filepath.Join(env.Tmp, fmt.Sprintf("venv-%d", i))
			start = time.Now()
			if out, err := exec.Command(py.Path, "-m", "venv", dir).CombinedOutput(); err != nil {
				return fmt.Errorf("python -m venv: %v: %s", err, out)
			}
			venv = append(venv, time.Since(start))
			_ = os.RemoveAll(wd)
			_ = os.RemoveAll(dir)
		}
		a, b := median(sw), median(venv)
		env.Printf("create: swcli %s vs python -m venv %s = %.2fx (Python %s, median of %d; target <= 1.10x)",
			secs(a), secs(b), a.Seconds()/b.Seconds(), py.Patch, env.Runs)
		return nil
	}})
}

// benchPython is the newest interpreter whose venv and ensurepip work, or
// $SWCLI_BENCH_PYTHON (X.Y).
func benchPython() (testpy.Python, error) {
	want := os.Getenv("SWCLI_BENCH_PYTHON")
	all := testpy.FindPythons()
	for i := len(all) - 1; i >= 0; i-- {
		p := all[i]
		if want != "" && p.Version != want {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := exec.CommandContext(ctx, p.Path, "-c", "import venv, ensurepip").Run()
		cancel()
		if err == nil {
			return p, nil
		}
	}
	return testpy.Python{}, fmt.Errorf("no Python with venv and ensurepip found (SWCLI_BENCH_PYTHON=%q)", want)
}
