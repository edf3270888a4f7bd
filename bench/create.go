package main

import (
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
		// Wall time, and CPU time (user+system of the process and every
		// descendant it waited for), which other load on the machine
		// disturbs less.
		var sw, venv, swCPU, venvCPU []time.Duration
		timed := func(name string, args ...string) (wall, cpu time.Duration, err error) {
			cmd := exec.Command(name, args...)
			start := time.Now()
			out, err := cmd.CombinedOutput()
			wall = time.Since(start)
			if err != nil {
				return 0, 0, fmt.Errorf("%s: %v: %s", filepath.Base(name), err, out)
			}
			return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
		}
		for i := 0; i < env.Runs; i++ {
			wd := filepath.Join(env.Tmp, fmt.Sprintf("create-%d", i))
			w, c, err := timed(env.SWCLI(), "runtime", "create", "--name", "bench", "--python", py.Version, wd)
			if err != nil {
				return err
			}
			sw, swCPU = append(sw, w), append(swCPU, c)

			dir := filepath.Join(env.Tmp, fmt.Sprintf("venv-%d", i))
			if w, c, err = timed(py.Path, "-m", "venv", dir); err != nil {
				return err
			}
			venv, venvCPU = append(venv, w), append(venvCPU, c)
			_ = os.RemoveAll(wd)
			_ = os.RemoveAll(dir)
		}
		a, b := median(sw), median(venv)
		ca, cb := median(swCPU), median(venvCPU)
		env.Printf("create: swcli %s vs python -m venv %s = %.2fx (Python %s, median of %d; target <= 1.10x)",
			secs(a), secs(b), a.Seconds()/b.Seconds(), py.Patch, env.Runs)
		env.Printf("create-cpu: swcli %s vs python -m venv %s = %.2fx (user+sys CPU, median of %d)",
			secs(ca), secs(cb), ca.Seconds()/cb.Seconds(), env.Runs)
		return nil
	}})
}

// benchPython is the newest interpreter whose venv and ensurepip work, or
// $SWCLI_BENCH_PYTHON (X.Y).
func benchPython() (testpy.Python, error) {
	want := os.Getenv("SWCLI_BENCH_PYTHON")
	p, err := testpy.NewestVenvPython(want)
	if err != nil {
		return p, fmt.Errorf("%w (SWCLI_BENCH_PYTHON=%q)", err, want)
	}
	return p, nil
}
