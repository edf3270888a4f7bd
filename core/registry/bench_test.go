package registry_test

import (
	"fmt"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// BenchmarkListVersions500 lists a runtime of 500 versions (with a vN tag
// and latest, and 50 user tags) on the filesystem store. Target: < 100ms.
func BenchmarkListVersions500(b *testing.B) {
	r, _ := newRegistry(b)
	config := putBlob(b, r, "config")
	for i := 0; i < 500; i++ {
		m := manifestOf(b, config, []ocispec.Descriptor{}, map[string]string{"i": fmt.Sprint(i)})
		var tags []string
		if i%10 == 0 {
			tags = []string{fmt.Sprintf("t%d", i)}
		}
		_, err := r.PutVersion(ctx, "self", "big", m, tags)
		require.NoError(b, err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		vs, err := r.ListVersions(ctx, "self", "big", false)
		if err != nil || len(vs) != 500 {
			b.Fatal(err, len(vs))
		}
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/list")
}
