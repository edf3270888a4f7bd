// Command bench runs swcli's benchmarks and prints one figure per line, each
// against its target or against a baseline measured in the same run (see
// DESIGN.md section 7). Figures are printed, never asserted.
//
//	go run ./bench -bin bin [-runs 5] [-only create,version]
//
// A benchmark is a file in this package that calls register from an init
// function; later benchmarks (build, restore, push) are added the same way.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Benchmark is one measurement.
type Benchmark struct {
	// Name selects it with -only and starts its printed lines.
	Name string
	// Run measures and prints its figures with env.Printf.
	Run func(env *Env) error
}

// Env is what a benchmark gets.
type Env struct {
	// Bin is the folder holding swcli, the plugins and plugins.yaml.
	Bin string
	// Runs is how many times each timed command runs; figures are medians.
	Runs int
	// Tmp is a scratch folder removed at the end.
	Tmp string
}

// SWCLI is the path of the swcli binary.
func (e *Env) SWCLI() string { return filepath.Join(e.Bin, "swcli") }

// Printf prints one figure line.
func (e *Env) Printf(format string, args ...any) { fmt.Printf(format+"\n", args...) }

var benchmarks []Benchmark

// register adds a benchmark; call it from init.
func register(b Benchmark) { benchmarks = append(benchmarks, b) }

func main() { os.Exit(run()) }

// run runs the chosen benchmarks and returns the exit code; its scratch
// folder goes however it ends (a failed benchmark, or an interrupt: the
// 600 MiB runtimes and their stores are gigabytes).
func run() int {
	bin := flag.String("bin", "bin", "folder holding swcli and its plugins (make build)")
	runs := flag.Int("runs", 5, "repetitions of each timed command (median reported)")
	only := flag.String("only", "", "comma-separated benchmark names to run (default all)")
	list := flag.Bool("list", false, "list the benchmarks and exit")
	flag.Parse()
	sort.SliceStable(benchmarks, func(i, j int) bool { return order(benchmarks[i].Name) < order(benchmarks[j].Name) })
	if *list {
		for _, b := range benchmarks {
			fmt.Println(b.Name)
		}
		return 0
	}
	abs, err := filepath.Abs(*bin)
	if err != nil {
		fail(err)
	}
	if _, err := os.Stat(filepath.Join(abs, "swcli")); err != nil {
		fail(fmt.Errorf("%s/swcli not found: run `make build` first", abs))
	}
	tmp, err := os.MkdirTemp("", "swcli-bench-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(tmp)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "bench: %v: removing %s\n", s, tmp)
		_ = os.RemoveAll(tmp)
		os.Exit(130)
	}()
	env := &Env{Bin: abs, Runs: max(*runs, 1), Tmp: tmp}
	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	failed := false
	for _, b := range benchmarks {
		if len(want) > 0 && !want[b.Name] {
			continue
		}
		if err := b.Run(env); err != nil {
			fmt.Printf("%s: error: %v\n", b.Name, err)
			failed = true
		}
	}
	if failed {
		return 1
	}
	return 0
}

// order keeps the quick figures first; unknown names go last, by name.
func order(name string) int {
	for i, n := range []string{"version", "plugin", "create"} {
		if n == name {
			return i
		}
	}
	return 100
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// median of durations.
func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// timeIt runs f warmup times untimed, then runs times timed, and returns the
// median.
func timeIt(warmup, runs int, f func() error) (time.Duration, error) {
	for i := 0; i < warmup; i++ {
		if err := f(); err != nil {
			return 0, err
		}
	}
	var ds []time.Duration
	for i := 0; i < runs; i++ {
		start := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	return median(ds), nil
}

// ms formats a duration in milliseconds, s in seconds.
func ms(d time.Duration) string   { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }
