package main

// cache.go: the figures of the unpacked-layer cache and the pip seed cache
// (issue 15), on the synthetic environment of gen.go, each against a
// baseline measured in the same run:
//
//   - cache/restore: a restore whose layers are all in the layer cache
//     against `zstd -d | tar -x` of the same files (target <= 0.20x);
//   - cache/link-floor: `cp -al` of the cached layers' files (a serial
//     link of every file), against the same untar and against the restore
//     (printed);
//   - cache/restore-cpu: the CPU time (user+system) of the same restore
//     and cp -al, which a loaded machine changes far less than their wall
//     time (printed);
//   - cache/restore-files: how many of the restored environment's files
//     are links into the cache and how many were written (printed);
//   - cache/second: the first restore of a second version that shares all
//     but one small package (the next tinypkg patch version) with the first
//     (target <= 0.25x of the same untar);
//   - cache/rss-build, cache/rss-restore: peak RSS of the first build and of
//     a restore with an empty layer cache (target < 200 MB each);
//   - cache/create: `swcli runtime create` with an empty requirements file
//     (pip seeded from the warm seed cache) against `python -m venv`
//     (target <= 0.30x), and against `python -m venv --without-pip`
//     (printed).

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/swcli/swcli/core/layercache"
)

func init() {
	register(Benchmark{Name: "cache", Run: func(env *Env) error { return rtCache(env.Bin, rtOutDir(env.Bin), env.Runs) }})
}

// rssProbe runs argv[1:] in a child made by a real fork of a small Python
// and prints the child's peak RSS (KiB, its waited-for descendants
// included) on stderr's last line. Measuring the bench's own child would
// not do: Go starts children with vfork, and Linux counts the parent's
// high-water mark into a vforked child's ru_maxrss at exec.
const rssProbe = `import os, resource, sys
pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, st = os.waitpid(pid, 0)
sys.stderr.write("\nSWCLI_BENCH_MAXRSS_KB=%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(st) if hasattr(os, "waitstatus_to_exitcode") else (st >> 8))
`

// swcliRSS runs swcli with args and returns how long it took and its peak
// RSS in bytes.
func (r *rtBench) swcliRSS(args ...string) (time.Duration, int64, error) {
	cmd := exec.Command(r.python.Path, append([]string{"-c", rssProbe, filepath.Join(r.bin, "swcli")}, args...)...)
	cmd.Env = r.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t0 := time.Now()
	err := cmd.Run()
	d := time.Since(t0)
	if err != nil {
		return d, 0, fmt.Errorf("swcli %s: %v\n%s", strings.Join(args, " "), err, rtTail(stderr.String(), 2000))
	}
	out := stderr.String()
	i := strings.LastIndex(out, "SWCLI_BENCH_MAXRSS_KB=")
	if i < 0 {
		return d, 0, fmt.Errorf("swcli %s: no peak RSS reported", strings.Join(args, " "))
	}
	kb, err := strconv.ParseInt(strings.TrimSpace(out[i+len("SWCLI_BENCH_MAXRSS_KB="):]), 10, 64)
	return d, kb << 10, err
}

func rtCache(bin, out string, runs int) error {
	r, err := rtBuiltWithBaseline(bin, out)
	if err != nil {
		return err
	}
	runs = min(max(runs, 1), 3)
	scratch := filepath.Join(r.out, "cache-bench")
	if err := os.RemoveAll(scratch); err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	fresh := r.freshDirs(scratch)
	var lastTarget string
	restoreCPU := func(uri string) (wall, cpu time.Duration, err error) {
		d, err := fresh("swcli")
		if err != nil {
			return 0, 0, err
		}
		lastTarget = d
		return r.timed(filepath.Join(r.bin, "swcli"), "runtime", "restore", uri, "--target-dir", d)
	}
	restore := func(uri string) (time.Duration, error) {
		wall, _, err := restoreCPU(uri)
		return wall, err
	}
	untar := func() (time.Duration, error) {
		d, err := fresh("tar")
		if err != nil {
			return 0, err
		}
		return r.sh(fmt.Sprintf("mkdir -p %q && zstd -d -q -c %q | tar -x -C %q", d, r.baselineArchive(), d))
	}
	if _, err := restore(r.name); err != nil { // fills the layer cache
		return err
	}
	// The floor of any restore that links every file: cp -al of the
	// cached layers' files (one link per file, no checks, no Python).
	linkAll := func() (wall, cpu time.Duration, err error) {
		d, err := fresh("cp")
		if err != nil {
			return 0, 0, err
		}
		return r.timed("/bin/sh", "-c", fmt.Sprintf("set -e; mkdir -p %q && for e in %q/entries/*/; do cp -al \"$e\". %q/; done", d, layercache.Dir(r.storage), d))
	}
	var sw, tar, cp, swCPU, cpCPU []time.Duration
	for i := 0; i < runs; i++ {
		a, ac, err := restoreCPU(r.name)
		if err != nil {
			return err
		}
		b, err := untar()
		if err != nil {
			return err
		}
		c, cc, err := linkAll()
		if err != nil {
			return err
		}
		sw, tar, cp = append(sw, a), append(tar, b), append(cp, c)
		swCPU, cpCPU = append(swCPU, ac), append(cpCPU, cc)
	}
	a, b, c := rtMedian(sw), rtMedian(tar), rtMedian(cp)
	rtLine("cache/restore", fmt.Sprintf("swcli runtime restore, all layers cached, %s vs zstd -d | tar -x %s (median of %d)", rtSecs(a), rtSecs(b), runs),
		a.Seconds()/b.Seconds(), "<= 0.20x", a.Seconds() <= 0.2*b.Seconds())
	fmt.Printf("cache/link-floor: cp -al of the cached layers' files %s vs zstd -d | tar -x %s = %.2fx; swcli restore vs cp -al = %.2fx (printed)\n",
		rtSecs(c), rtSecs(b), c.Seconds()/b.Seconds(), a.Seconds()/c.Seconds())
	ac, cc := rtMedian(swCPU), rtMedian(cpCPU)
	fmt.Printf("cache/restore-cpu: CPU (user+system) of swcli restore %s vs cp -al %s = %.2fx (printed)\n", rtSecs(ac), rtSecs(cc), ac.Seconds()/cc.Seconds())
	linked, written, folders, err := rtLinkStats(filepath.Join(lastTarget, ".starwhale", "venv"))
	if err != nil {
		return err
	}
	fmt.Printf("cache/restore-files: %d files linked from the cache, %d written (own copies, relocated, the venv skeleton), %d folders made (printed)\n", linked, written, folders)

	// A second version: the next tinypkg, all else shared.
	if _, _, err := r.bumpTiny(); err != nil {
		return err
	}
	if _, err := r.swcli("runtime", "build", r.wd); err != nil {
		return err
	}
	// Each run is a first restore: the entries the first run added (the
	// new tinypkg's) are removed before the next, as if never seen.
	shared, err := rtCacheEntries(r.storage)
	if err != nil {
		return err
	}
	var seconds []time.Duration
	for i := 0; i < runs; i++ {
		now, err := rtCacheEntries(r.storage)
		if err != nil {
			return err
		}
		for e := range now {
			if !shared[e] {
				if err := os.RemoveAll(filepath.Join(layercache.Dir(r.storage), "entries", e)); err != nil {
					return err
				}
			}
		}
		t, err := restore(r.name) // latest: the second version
		if err != nil {
			return err
		}
		seconds = append(seconds, t)
	}
	if now, err := rtCacheEntries(r.storage); err != nil || len(now) != len(shared)+1 {
		return fmt.Errorf("the second version should add one layer cache entry: %d entries before, %d after (%v)", len(shared), len(now), err)
	}
	second := rtMedian(seconds)
	rtLine("cache/second", fmt.Sprintf("first restore of a version sharing all but tinypkg %s vs zstd -d | tar -x %s (median of %d)", rtSecs(second), rtSecs(b), runs),
		second.Seconds()/b.Seconds(), "<= 0.25x", second.Seconds() <= 0.25*b.Seconds())

	// Peak RSS: the first build, and a restore that unpacks every layer.
	const limit = 200 << 20
	rtLine("cache/rss-build", fmt.Sprintf("peak RSS of the first swcli runtime build %s (%.0f MiB environment) vs 200 MB", rtBytes(r.buildRSS), float64(r.bytes)/(1<<20)),
		float64(r.buildRSS)/limit, "< 1.00x", r.buildRSS < limit)
	if err := os.RemoveAll(layercache.Dir(r.storage)); err != nil {
		return err
	}
	d, err := fresh("swcli")
	if err != nil {
		return err
	}
	cold, rss, err := r.swcliRSS("runtime", "restore", r.name, "--target-dir", d)
	if err != nil {
		return err
	}
	rtLine("cache/rss-restore", fmt.Sprintf("peak RSS of swcli runtime restore with an empty layer cache %s (took %s) vs 200 MB", rtBytes(rss), rtSecs(cold)),
		float64(rss)/limit, "< 1.00x", rss < limit)

	// create with an empty requirements file: pip seeded by links.
	var cr, venv, bare []time.Duration
	for i := 0; i <= runs; i++ {
		wd := filepath.Join(scratch, fmt.Sprintf("create-%d", i))
		if err := rtWriteWorkdir(wd, "benchcreate", r.python.Version, r.wheels, nil); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(wd, "requirements.txt"), nil, 0o644); err != nil {
			return err
		}
		t, err := r.swcli("runtime", "create", wd)
		if err != nil {
			return err
		}
		if i == 0 {
			continue // fills the seed cache
		}
		cr = append(cr, t)
		for _, base := range []struct {
			ds   *[]time.Duration
			args []string
		}{{&venv, nil}, {&bare, []string{"--without-pip"}}} {
			dir := filepath.Join(scratch, fmt.Sprintf("venv-%d-%d", i, len(base.args)))
			_, t, err := r.runIn(r.env, r.python.Path, append(append([]string{"-m", "venv"}, base.args...), dir)...)
			if err != nil {
				return err
			}
			*base.ds = append(*base.ds, t)
		}
	}
	a, v, w := rtMedian(cr), rtMedian(venv), rtMedian(bare)
	rtLine("cache/create", fmt.Sprintf("swcli runtime create (empty requirements, warm seed) %s vs python -m venv %s (Python %s, median of %d)", rtSecs(a), rtSecs(v), r.python.Patch, runs),
		a.Seconds()/v.Seconds(), "<= 0.30x", a.Seconds() <= 0.3*v.Seconds())
	fmt.Printf("cache/create-bare: swcli runtime create %s vs python -m venv --without-pip %s = %.2fx (printed)\n", rtSecs(a), rtSecs(w), a.Seconds()/w.Seconds())
	return nil
}

// timed runs a command with the bench's environment and returns its wall
// time and CPU time (user+system, its waited-for children included:
// swcli's plugins, a shell's commands).
func (r *rtBench) timed(name string, args ...string) (wall, cpu time.Duration, err error) {
	cmd := exec.Command(name, args...)
	cmd.Env = r.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t0 := time.Now()
	err = cmd.Run()
	wall = time.Since(t0)
	if err != nil {
		return wall, 0, fmt.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, rtTail(stderr.String(), 2000))
	}
	return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// rtLinkStats counts the regular files under prefix that share their
// inode (links into the cache) and those that do not (written), and the
// folders.
func rtLinkStats(prefix string) (linked, written, folders int, err error) {
	err = filepath.WalkDir(prefix, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			folders++
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
				linked++
			} else {
				written++
			}
		}
		return nil
	})
	return linked, written, folders, err
}

// rtCacheEntries lists the layer cache's entries by name.
func rtCacheEntries(storage string) (map[string]bool, error) {
	ents, err := os.ReadDir(filepath.Join(layercache.Dir(storage), "entries"))
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, e := range ents {
		out[e.Name()] = true
	}
	return out, nil
}
