package bundle

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The benchmarks pack and extract a generated environment of
// SWCLI_BENCH_MB megabytes (500) in SWCLI_BENCH_FILES files (20000), or the
// tree at SWCLI_BENCH_TREE, and compare with tar and zstd (-T0, level 3) on
// the same tree in the same run:
//
//	go test ./core/bundle/ -run '^$' -bench . -benchtime 3x

type benchTree struct {
	root   string
	layers [][]string // one path list per top-level package, plus the rest
	all    []string
	bytes  int64
}

var (
	benchOnce sync.Once
	bench     benchTree
	benchErr  error
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func getBenchTree(b *testing.B) *benchTree {
	benchOnce.Do(func() {
		root := os.Getenv("SWCLI_BENCH_TREE")
		if root == "" {
			dir, err := os.MkdirTemp("", "swcli-bundle-bench-")
			if err != nil {
				benchErr = err
				return
			}
			root = dir
			mb, files := envInt("SWCLI_BENCH_MB", 500), envInt("SWCLI_BENCH_FILES", 20000)
			genTree(b, root, files, int64(mb)<<20, 1)
		}
		bench.root = root
		bench.all, benchErr = WalkFiles(root, "")
		if benchErr != nil {
			return
		}
		bench.layers, bench.bytes, benchErr = splitLayers(root, bench.all)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return &bench
}

// splitLayers groups paths as a mode would: one layer per directory two levels
// below the deepest common "site-packages", or per top-level entry.
func splitLayers(root string, all []string) ([][]string, int64, error) {
	groups := map[string][]string{}
	var keys []string
	var total int64
	for _, p := range all {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			return nil, 0, err
		}
		if fi.Mode().IsRegular() {
			total += fi.Size()
		}
		k := layerKey(p)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], p)
	}
	out := make([][]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, groups[k])
	}
	return out, total, nil
}

func layerKey(p string) string {
	const sp = "site-packages/"
	for i := 0; i+len(sp) <= len(p); i++ {
		if p[i:i+len(sp)] == sp {
			rest := p[i+len(sp):]
			for j := 0; j < len(rest); j++ {
				if rest[j] == '/' {
					return p[:i+len(sp)+j]
				}
			}
			return p[:i+len(sp)] + rest
		}
	}
	return "(base)"
}

func shell(b *testing.B, cmd string) time.Duration {
	start := time.Now()
	c0 := cpuTime(syscall.RUSAGE_CHILDREN)
	out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
	if err != nil {
		b.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	shellCPU += cpuTime(syscall.RUSAGE_CHILDREN) - c0
	return time.Since(start)
}

// shellCPU is the CPU time (user+sys) of the shell commands run so far.
var shellCPU time.Duration

// cpuTime returns the user+sys CPU time of this process or of its children.
func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mbps(n int64, d time.Duration) float64 { return float64(n) / d.Seconds() / 1e6 }

// BenchmarkPackLayer packs the tree as one layer (PackLayer) and as one layer
// per package (PackLayers), and `tar -c | zstd -T0 -3` as the baseline.
func BenchmarkPackLayer(b *testing.B) {
	t := getBenchTree(b)
	if _, err := exec.LookPath("zstd"); err != nil {
		b.Skip("zstd is not installed")
	}
	ctx := context.Background()
	base := func() time.Duration {
		return shell(b, fmt.Sprintf("tar -C %q -cf - . | zstd -T0 -3 -q -c > /dev/null", t.root))
	}
	base() // warm the page cache
	var baseline, baseCPU time.Duration
	b.Run("tar|zstd-T0", func(b *testing.B) {
		b.SetBytes(t.bytes)
		var sum time.Duration
		c0 := shellCPU
		for i := 0; i < b.N; i++ {
			sum += base()
		}
		baseline = sum / time.Duration(b.N)
		baseCPU = (shellCPU - c0) / time.Duration(b.N)
	})
	report := func(b *testing.B, name string, d, cpu time.Duration, size int64) {
		b.Logf("%s: %.0f MB/s (%d MB -> %d MB, %.2f cpu-s); tar|zstd -T0: %.0f MB/s (%.2f cpu-s); ratio %.2f (GOMAXPROCS %d)",
			name, mbps(t.bytes, d), t.bytes>>20, size>>20, cpu.Seconds(), mbps(t.bytes, baseline), baseCPU.Seconds(), baseline.Seconds()/d.Seconds(), runtime.GOMAXPROCS(0))
		b.ReportMetric(baseline.Seconds()/d.Seconds(), "x-baseline")
	}
	b.Run("PackLayer", func(b *testing.B) {
		b.SetBytes(t.bytes)
		var info LayerInfo
		start, c0 := time.Now(), cpuTime(syscall.RUSAGE_SELF)
		for i := 0; i < b.N; i++ {
			var err error
			if info, err = PackLayer(ctx, io.Discard, t.root, t.all, PackOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		report(b, "PackLayer (one layer)", time.Since(start)/time.Duration(b.N), (cpuTime(syscall.RUSAGE_SELF)-c0)/time.Duration(b.N), info.Size)
	})
	b.Run("PackLayers", func(b *testing.B) {
		b.SetBytes(t.bytes)
		jobs := make([]LayerJob, len(t.layers))
		for i, l := range t.layers {
			jobs[i] = LayerJob{Root: t.root, Paths: l, Writer: io.Discard}
		}
		var size int64
		start, c0 := time.Now(), cpuTime(syscall.RUSAGE_SELF)
		for i := 0; i < b.N; i++ {
			res, err := PackLayers(ctx, jobs, 0)
			if err != nil {
				b.Fatal(err)
			}
			size = 0
			for _, r := range res {
				size += r.Size
			}
		}
		report(b, fmt.Sprintf("PackLayers (%d layers)", len(jobs)), time.Since(start)/time.Duration(b.N), (cpuTime(syscall.RUSAGE_SELF)-c0)/time.Duration(b.N), size)
	})
}

// BenchmarkExtractLayer extracts the tree packed as one layer, against
// `zstd -d | tar -x` of the same layer.
func BenchmarkExtractLayer(b *testing.B) {
	t := getBenchTree(b)
	if _, err := exec.LookPath("zstd"); err != nil {
		b.Skip("zstd is not installed")
	}
	ctx := context.Background()
	dir := b.TempDir()
	if tmp := os.Getenv("SWCLI_BENCH_TMP"); tmp != "" { // e.g. /dev/shm, to leave the disk out
		var err error
		if dir, err = os.MkdirTemp(tmp, "swcli-bench-"); err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
	}
	layer := filepath.Join(dir, "layer.tar.zst")
	f, err := os.Create(layer)
	if err != nil {
		b.Fatal(err)
	}
	info, err := PackLayer(ctx, f, t.root, t.all, PackOptions{})
	if err != nil {
		b.Fatal(err)
	}
	f.Close()
	n := 0
	target := func() string {
		n++
		return filepath.Join(dir, fmt.Sprintf("x%d", n))
	}
	var baseline, baseCPU time.Duration
	b.Run("zstd-d|tar-x", func(b *testing.B) {
		b.SetBytes(t.bytes)
		var sum time.Duration
		c0 := shellCPU
		for i := 0; i < b.N; i++ {
			d := target()
			if err := os.Mkdir(d, 0o755); err != nil {
				b.Fatal(err)
			}
			sum += shell(b, fmt.Sprintf("zstd -d -q -c %q | tar -C %q -xf -", layer, d))
			b.StopTimer()
			os.RemoveAll(d)
			b.StartTimer()
		}
		baseline = sum / time.Duration(b.N)
		baseCPU = (shellCPU - c0) / time.Duration(b.N)
	})
	b.Run("ExtractLayer", func(b *testing.B) {
		b.SetBytes(t.bytes)
		var sum, cpu time.Duration
		for i := 0; i < b.N; i++ {
			d := target()
			start, c0 := time.Now(), cpuTime(syscall.RUSAGE_SELF)
			if _, err := ExtractLayerFile(ctx, layer, d, ExtractOptions{MaxBytes: info.UncompressedSize, Digest: info.Digest}); err != nil {
				b.Fatal(err)
			}
			sum += time.Since(start)
			cpu += cpuTime(syscall.RUSAGE_SELF) - c0
			b.StopTimer()
			os.RemoveAll(d)
			b.StartTimer()
		}
		d := sum / time.Duration(b.N)
		b.Logf("ExtractLayer: %.0f MB/s (%.2f cpu-s); zstd -d | tar -x: %.0f MB/s (%.2f cpu-s); ratio %.2f",
			mbps(t.bytes, d), (cpu / time.Duration(b.N)).Seconds(), mbps(t.bytes, baseline), baseCPU.Seconds(), baseline.Seconds()/d.Seconds())
		b.ReportMetric(baseline.Seconds()/d.Seconds(), "x-baseline")
	})
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.root != "" && os.Getenv("SWCLI_BENCH_TREE") == "" {
		os.RemoveAll(bench.root)
	}
	os.Exit(code)
}
