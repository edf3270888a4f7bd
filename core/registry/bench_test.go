package registry_test

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		_ = os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

var (
	benchOnce sync.Once
	benchDir  string
	benchReg  *registry.Registry
	benchErr  error
)

// bench500 builds, once per run, a runtime of 500 versions (each with its vN
// tag, latest on one, and a user tag on every tenth).
func bench500() (*registry.Registry, error) {
	benchOnce.Do(func() {
		if benchDir, benchErr = os.MkdirTemp("", "registry-bench-"); benchErr != nil {
			return
		}
		s, err := store.NewFS(benchDir)
		if err != nil {
			benchErr = err
			return
		}
		benchReg = registry.New(s)
		config := putBlob(&testing.T{}, benchReg, "config")
		for i := 0; i < 500 && benchErr == nil; i++ {
			m := manifestOf(&testing.T{}, config, []ocispec.Descriptor{}, map[string]string{"i": fmt.Sprint(i)})
			var tags []string
			if i%10 == 0 {
				tags = []string{fmt.Sprintf("t%d", i)}
			}
			_, benchErr = benchReg.PutVersion(ctx, "self", "big", m, tags)
		}
	})
	return benchReg, benchErr
}

// BenchmarkListVersions500 lists a runtime of 500 versions on the filesystem
// store. Target: < 100ms per list.
func BenchmarkListVersions500(b *testing.B) {
	r, err := bench500()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		vs, err := r.ListVersions(ctx, "self", "big", false)
		if err != nil || len(vs) != 500 {
			b.Fatal(err, len(vs))
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/list")
}

// BenchmarkResolvePrefix500 resolves a short version among 500.
func BenchmarkResolvePrefix500(b *testing.B) {
	r, err := bench500()
	if err != nil {
		b.Fatal(err)
	}
	vs, err := r.ListVersions(ctx, "self", "big", false)
	if err != nil {
		b.Fatal(err)
	}
	ref := vs[250].Short
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Resolve(ctx, "self", "big", ref); err != nil {
			b.Fatal(err)
		}
	}
}
