// Command demo shows swcli's main job end to end on embedded defaults, with
// no network: it makes a temporary workdir, builds a tiny wheel into
// WORKDIR/wheels, writes a requirements.txt that installs it offline, runs
// `swcli runtime create`, then runs Python inside the new runtime, builds,
// copies and restores it, builds a model and a dataset, runs a job with
// them, and runs the same job again from copies (files) in another store.
// Every step prints the command it runs. Usage: go run ./tools/demo -bin bin
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/swcli/swcli/sdk/pyenv"
	"github.com/swcli/swcli/sdk/testpy"
)

func main() {
	bin := flag.String("bin", "bin", "folder holding swcli and its plugins (make build)")
	python := flag.String("python", "", "Python X.Y to use (default: the newest one found with venv and pip)")
	keep := flag.Bool("keep", false, "keep the temporary workdir")
	flag.Parse()
	if err := run(*bin, *python, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func step(n int, what string) { fmt.Printf("\n== %d. %s\n", n, what) }

// sh prints and runs a command with its output on the terminal.
func sh(name string, args ...string) error {
	fmt.Printf("$ %s\n", quoteCmd(append([]string{name}, args...)))
	cmd := exec.Command(name, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	fmt.Printf("   (%.2fs)\n", time.Since(start).Seconds())
	return err
}

func quoteCmd(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$;()|&<>*?") {
			a = pyenv.ShQuote(a)
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

func run(bin, want string, keep bool) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	swcli := filepath.Join(bin, "swcli")
	if _, err := os.Stat(swcli); err != nil {
		return fmt.Errorf("%s not found: run `make build` first", swcli)
	}
	py, err := testpy.NewestVenvPython(want)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "swcli-demo-")
	if err != nil {
		return err
	}
	if keep {
		defer fmt.Printf("\nkept %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	wd := filepath.Join(tmp, "hello-runtime")
	// The demo keeps its store and config in its temporary folder.
	os.Setenv("SW_LOCAL_STORAGE", filepath.Join(tmp, "storage"))
	os.Setenv("SW_CLI_CONFIG", filepath.Join(tmp, "config", "config.yaml"))

	step(1, fmt.Sprintf("a workdir with a tiny local wheel (Python %s at %s)", py.Patch, py.Path))
	whl, err := testpy.BuildWheel(filepath.Join(wd, "wheels"), testpy.Wheel{
		Name: "swcli-demo-hello", Version: "1.0",
		ConsoleScripts: map[string]string{"swcli-demo-hello": "swcli_demo_hello:main"},
	})
	if err != nil {
		return err
	}
	req := "--no-index\n--find-links wheels\nswcli-demo-hello==1.0\n"
	if err := os.WriteFile(filepath.Join(wd, "requirements.txt"), []byte(req), 0o644); err != nil {
		return err
	}
	fmt.Printf("workdir:          %s\nwheel:            %s\nrequirements.txt: %s\n", wd, filepath.Base(whl), strings.ReplaceAll(strings.TrimSpace(req), "\n", " | "))

	step(2, "create the runtime: write runtime.yaml, make the venv, pip install the requirements (offline)")
	if err := sh(swcli, "runtime", "create", "--name", "hello", "--python", py.Version, wd); err != nil {
		return fmt.Errorf("runtime create: %w", err)
	}
	spec, _ := os.ReadFile(filepath.Join(wd, "runtime.yaml"))
	fmt.Printf("runtime.yaml:\n%s", indent(string(spec)))

	step(3, "run Python inside the runtime")
	if err := sh(swcli, "runtime", "run", wd, "--", "python", "-c",
		"import sys, swcli_demo_hello as h; print('python', sys.version.split()[0], 'prefix', sys.prefix); print('swcli_demo_hello', h.__version__)"); err != nil {
		return fmt.Errorf("runtime run: %w", err)
	}

	step(4, "run the wheel's console script, and see the exit code pass through")
	if err := sh(swcli, "runtime", "run", wd, "--", "swcli-demo-hello"); err != nil {
		return fmt.Errorf("runtime run: %w", err)
	}
	err = sh(swcli, "runtime", "run", wd, "--", "python", "-c", "raise SystemExit(3)")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		return fmt.Errorf("expected exit code 3, got %v", err)
	}
	fmt.Println("   exit code 3 passed through")

	step(5, "activation code for eval (on a terminal, `swcli runtime activate DIR` starts a subshell instead)")
	if err := sh(swcli, "runtime", "activate", wd, "--print", "--shell", "bash"); err != nil {
		return fmt.Errorf("runtime activate: %w", err)
	}

	step(6, "build it: a versioned, reproducible bundle in the local store (tags v0, latest)")
	if err := sh(swcli, "runtime", "build", wd); err != nil {
		return fmt.Errorf("runtime build: %w", err)
	}
	if err := sh(swcli, "runtime", "list"); err != nil {
		return fmt.Errorf("runtime list: %w", err)
	}

	step(7, "share it as a file, then restore the file into another folder (offline, unpacked and relocated)")
	file := filepath.Join(tmp, "hello.swrt")
	if err := sh(swcli, "runtime", "copy", "hello/version/latest", file); err != nil {
		return fmt.Errorf("runtime copy: %w", err)
	}
	elsewhere := filepath.Join(tmp, "another", "place")
	if err := sh(swcli, "runtime", "restore", file, "--target-dir", elsewhere); err != nil {
		return fmt.Errorf("runtime restore: %w", err)
	}

	step(8, "the restored console script runs from any folder, without activation")
	script := filepath.Join(elsewhere, ".starwhale", "venv", "bin", "swcli-demo-hello")
	cmd := exec.Command(script)
	cmd.Dir, cmd.Env = os.TempDir(), []string{"PATH=/usr/bin:/bin"}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	fmt.Printf("$ (cd %s && env -i PATH=/usr/bin:/bin %s)\n", os.TempDir(), script)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("restored console script: %w", err)
	}

	if err := jobDemo(swcli, tmp, file); err != nil {
		return err
	}
	fmt.Println("\ndemo done: swcli created a venv runtime, installed a local wheel offline, ran Python in it,\nbuilt it into a bundle, shared it as a file and restored it elsewhere; built a model and a dataset,\nran a job with the runtime, and ran the same job again from copies in another store, with the same result.")
	return nil
}

// jobDemo builds a model and a dataset, runs a job with the runtime, copies
// all three to files, adds the files to a second store ("another machine")
// and runs the same job there, checking both wrote the same result.
func jobDemo(swcli, tmp, runtimeFile string) error {
	md, dd := filepath.Join(tmp, "mnist-model"), filepath.Join(tmp, "mnist-dataset")
	files := map[string]string{
		filepath.Join(md, "model.yaml"): "name: mnist\nrun:\n  handler: python evaluate.py\n",
		filepath.Join(md, "evaluate.py"): `import os, swcli_demo_hello as h
data = os.path.join(os.environ["SW_DATASET_DIR"], "digits.txt")
digits = [int(x) for x in open(data).read().split()]
score = sum(digits) / len(digits)
open(os.path.join(os.environ["SW_JOB_DIR"], "output", "score.txt"), "w").write("%.3f\n" % score)
print("evaluated %d digits with swcli_demo_hello %s: score %.3f" % (len(digits), h.__version__, score))
`,
		filepath.Join(md, ".swignore"):    "*.log\n",
		filepath.Join(md, "train.log"):    "left out by .swignore\n",
		filepath.Join(dd, "dataset.yaml"): "name: mnist\n",
		filepath.Join(dd, "digits.txt"):   "3 1 4 1 5 9 2 6 5 3 5\n",
	}
	for p, body := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	step(9, "a model (model.yaml with its handler) and a dataset, stored as versions like runtimes")
	for _, c := range [][]string{{"model", "build", md}, {"dataset", "build", dd}, {"model", "list"}, {"dataset", "info", "mnist"}} {
		if err := sh(swcli, c...); err != nil {
			return fmt.Errorf("%s %s: %w", c[0], c[1], err)
		}
	}
	step(10, "a job: restore the runtime, lay out the model and dataset read-only, run the handler in the runtime")
	if err := sh(swcli, "job", "create", "--model", "mnist/version/latest", "--runtime", "hello/version/latest", "--dataset", "mnist/version/latest"); err != nil {
		return fmt.Errorf("job create: %w", err)
	}
	if err := sh(swcli, "job", "list"); err != nil {
		return fmt.Errorf("job list: %w", err)
	}
	first, err := lastScore(os.Getenv("SW_LOCAL_STORAGE"))
	if err != nil {
		return err
	}

	step(11, "copy the model and dataset to files (the runtime is in hello.swrt), add all three to another store, run the same job there")
	mf, df := filepath.Join(tmp, "mnist.swmp"), filepath.Join(tmp, "mnist.swds")
	if err := sh(swcli, "model", "copy", "mnist/version/latest", mf); err != nil {
		return fmt.Errorf("model copy: %w", err)
	}
	if err := sh(swcli, "dataset", "copy", "mnist/version/latest", df); err != nil {
		return fmt.Errorf("dataset copy: %w", err)
	}
	other := filepath.Join(tmp, "other-machine")
	os.Setenv("SW_LOCAL_STORAGE", other)
	fmt.Printf("$ export SW_LOCAL_STORAGE=%s\n", other)
	for _, c := range [][]string{{"runtime", "copy", runtimeFile, "local/project/self"}, {"model", "copy", mf, "local/project/self"}, {"dataset", "copy", df, "local/project/self"}} {
		if err := sh(swcli, c...); err != nil {
			return fmt.Errorf("%s copy: %w", c[0], err)
		}
	}
	if err := sh(swcli, "job", "create", "--model", "mnist", "--runtime", "hello", "--dataset", "mnist"); err != nil {
		return fmt.Errorf("job create from the copies: %w", err)
	}
	second, err := lastScore(other)
	if err != nil {
		return err
	}
	if first != second {
		return fmt.Errorf("the job from the copies wrote %q, the first one %q", second, first)
	}
	fmt.Printf("   both jobs wrote output/score.txt = %s", second)
	return nil
}

// lastScore reads output/score.txt of the newest job under a storage root.
func lastScore(root string) (string, error) {
	jobs, err := filepath.Glob(filepath.Join(root, "jobs", "*", "output", "score.txt"))
	if err != nil || len(jobs) == 0 {
		return "", fmt.Errorf("no job wrote output/score.txt under %s", root)
	}
	b, err := os.ReadFile(jobs[len(jobs)-1]) // ids sort by time
	return string(b), err
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n") + "\n"
}
