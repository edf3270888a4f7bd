package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// job: `swcli job create` of a trivial handler with a warm runtime cache
// against running the same command with the restored environment's python
// directly (target: <= 100 ms over); `swcli model build` of a folder of
// 10,000 files against `tar -c | zstd -T0` of the same folder (target <=
// 1.2x), and a rebuild after changing one file against the first build
// (target <= 10%). The folder is 1 GiB unless SWCLI_BENCH_MODEL_MB says
// otherwise (say so when quoting figures).
func init() {
	register(Benchmark{Name: "job", Run: func(env *Env) error {
		if err := benchJobCreate(env); err != nil {
			return err
		}
		return benchModelBuild(env)
	}})
}

func benchRun(storage string, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "SW_LOCAL_STORAGE="+storage)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %v: %v: %s", filepath.Base(name), args, err, out)
	}
	return out, nil
}

func benchJobCreate(env *Env) error {
	py, err := benchPython()
	if err != nil {
		return err
	}
	storage := filepath.Join(env.Tmp, "job-storage")
	wd := filepath.Join(env.Tmp, "job-rt")
	if _, err := benchRun(storage, env.SWCLI(), "runtime", "create", "--name", "jobbench", "--python", py.Version, wd); err != nil {
		return err
	}
	if _, err := benchRun(storage, env.SWCLI(), "runtime", "build", wd); err != nil {
		return err
	}
	out, err := benchRun(storage, env.SWCLI(), "-o", "json", "runtime", "restore", "jobbench")
	if err != nil {
		return err
	}
	var res struct {
		Workdir string `json:"workdir"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.Workdir == "" {
		return fmt.Errorf("runtime restore -o json: no workdir in %s", out)
	}
	python := filepath.Join(res.Workdir, ".starwhale", "venv", "bin", "python")
	job := func() error {
		_, err := benchRun(storage, env.SWCLI(), "job", "create", "--runtime", "jobbench", "--", "python", "-c", "pass")
		return err
	}
	direct := func() error { _, err := benchRun(storage, python, "-c", "pass"); return err }
	// runtime run is the same warm path without a job's record, folder,
	// log and process group: what the job machinery adds is job - run.
	run := func() error {
		_, err := benchRun(storage, env.SWCLI(), "runtime", "run", "jobbench", "--", "python", "-c", "pass")
		return err
	}
	a, err := timeIt(1, env.Runs*2, job)
	if err != nil {
		return err
	}
	b, err := timeIt(1, env.Runs*2, direct)
	if err != nil {
		return err
	}
	c, err := timeIt(1, env.Runs*2, run)
	if err != nil {
		return err
	}
	env.Printf("job-create: swcli job create %s vs the restored python directly %s = +%s (warm cache, median of %d; target <= +100ms; swcli runtime run of the same: %s)",
		ms(a), ms(b), ms(a-b), env.Runs*2, ms(c))
	return nil
}

func benchModelBuild(env *Env) error {
	mb := 1024
	if s := os.Getenv("SWCLI_BENCH_MODEL_MB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return fmt.Errorf("SWCLI_BENCH_MODEL_MB=%q is not a positive number of MiB", s)
		}
		mb = n
	}
	const files = 10000
	dir := filepath.Join(env.Tmp, "model-src")
	if err := benchModelTree(dir, int64(mb)<<20, files); err != nil {
		return err
	}
	tarOut := filepath.Join(env.Tmp, "model.tar.zst")
	baseline := func() error {
		cmd := exec.Command("sh", "-c", `tar -c -C "$1" . | zstd -T0 -q -f -o "$2"`, "sh", dir, tarOut)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("tar | zstd: %v: %s", err, out)
		}
		return nil
	}
	runs := max(1, env.Runs/2)
	var first, rebuild, base []time.Duration
	for i := 0; i < runs; i++ {
		storage := filepath.Join(env.Tmp, fmt.Sprintf("model-storage-%d", i))
		start := time.Now()
		if _, err := benchRun(storage, env.SWCLI(), "model", "build", dir); err != nil {
			return err
		}
		first = append(first, time.Since(start))
		// change one small file, rebuild
		p := filepath.Join(dir, "src", fmt.Sprintf("f%05d.py", i*7%files))
		if err := os.WriteFile(p, []byte(fmt.Sprintf("changed %d\n", i)), 0o644); err != nil {
			return err
		}
		start = time.Now()
		if _, err := benchRun(storage, env.SWCLI(), "model", "build", dir); err != nil {
			return err
		}
		rebuild = append(rebuild, time.Since(start))
		start = time.Now()
		if err := baseline(); err != nil {
			return err
		}
		base = append(base, time.Since(start))
		_ = os.RemoveAll(storage)
	}
	f, r, b := median(first), median(rebuild), median(base)
	env.Printf("model-build: swcli model build %s vs tar -c | zstd -T0 %s = %.2fx (%d MiB, %d files, median of %d; target <= 1.2x)",
		secs(f), secs(b), f.Seconds()/b.Seconds(), mb, files, runs)
	env.Printf("model-rebuild: after changing one file %s vs the first build %s = %.1f%% (target <= 10%%)",
		secs(r), secs(f), 100*r.Seconds()/f.Seconds())
	return nil
}

// benchModelTree writes n files of about total bytes: a few large weight
// files (half the bytes, half-compressible) and small sources.
func benchModelTree(dir string, total int64, n int) error {
	rng := rand.New(rand.NewPCG(1, 2))
	large := 8
	largeSize := total / 2 / int64(large)
	small := (total - largeSize*int64(large)) / int64(n-large)
	buf := make([]byte, max(largeSize, small))
	fill := func(b []byte) {
		for i := 0; i < len(b); i += 8 {
			v := rng.Uint64()
			if i/4096%2 == 0 {
				v &= 0x0f0f0f0f0f0f0f0f // half the pages compress
			}
			for j := 0; j < 8 && i+j < len(b); j++ {
				b[i+j] = byte(v >> (8 * j))
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "model.yaml"), []byte("name: bench\nrun:\n  handler: python evaluate.py\n"), 0o644); err != nil {
		return err
	}
	for i := 0; i < large; i++ {
		fill(buf[:largeSize])
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("weights-%d.bin", i)), buf[:largeSize], 0o644); err != nil {
			return err
		}
	}
	for i := 0; i < n-large-1; i++ {
		fill(buf[:small])
		if err := os.WriteFile(filepath.Join(dir, "src", fmt.Sprintf("f%05d.py", i)), buf[:small], 0o644); err != nil {
			return err
		}
	}
	return nil
}
