package registry_test

import (
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/registry"
)

func TestConcurrentPutVersion(t *testing.T) {
	r, _ := newRegistry(t)
	const n = 8
	// Prepare manifests first (blob writes are not what is raced here).
	same := make([][]byte, n)
	for i := range same {
		same[i] = fakeManifest(t, r, fmt.Sprintf("same-%d", i))
	}
	shared := fakeManifest(t, r, "shared")

	var wg sync.WaitGroup
	results := make(chan registry.Version, 4*n)
	errs := make(chan error, 4*n)
	run := func(name string, m []byte) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := r.PutVersion(ctx, "self", name, m, nil)
			errs <- err
			results <- v
		}()
	}
	for i := 0; i < n; i++ {
		run(fmt.Sprintf("rt%d", i), shared) // different runtimes
		run("one", same[i])                 // one runtime, different manifests
		run("dup", shared)                  // one runtime, one manifest
	}
	wg.Wait()
	close(errs)
	close(results)
	for err := range errs {
		require.NoError(t, err)
	}
	var dupNumbers []int
	for v := range results {
		if v.Name == "dup" {
			dupNumbers = append(dupNumbers, v.Number)
		}
	}

	for i := 0; i < n; i++ {
		vs, err := r.ListVersions(ctx, "self", fmt.Sprintf("rt%d", i), true)
		require.NoError(t, err)
		assert.Len(t, vs, 1)
	}

	vs, err := r.ListVersions(ctx, "self", "one", true)
	require.NoError(t, err)
	require.Len(t, vs, n)
	var numbers []int
	for _, v := range vs {
		numbers = append(numbers, v.Number)
		assert.Contains(t, v.Tags, fmt.Sprintf("v%d", v.Number))
	}
	sort.Ints(numbers)
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7}, numbers, "every version got its own number")
	assert.Contains(t, vs[0].Tags, "latest")

	vs, err = r.ListVersions(ctx, "self", "dup", true)
	require.NoError(t, err)
	require.Len(t, vs, 1, "the same manifest is one version")
	for _, got := range dupNumbers {
		assert.Equal(t, vs[0].Number, got)
	}
	assert.Equal(t, []string{fmt.Sprintf("v%d", vs[0].Number), "latest"}, vs[0].Tags)
}

func TestConcurrentBuildsAndRemoves(t *testing.T) {
	r, _ := newRegistry(t)
	base := build(t, r, "self", "mnist", "base")
	ms := make([][]byte, 6)
	for i := range ms {
		ms[i] = fakeManifest(t, r, fmt.Sprintf("m%d", i))
	}
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Add(1)
		go func(i int, m []byte) {
			defer wg.Done()
			v, err := r.PutVersion(ctx, "self", "mnist", m, nil)
			if !assert.NoError(t, err) {
				return
			}
			if i%2 == 0 {
				assert.NoError(t, r.Remove(ctx, "self", "mnist", v.Short, i%4 == 0))
			}
		}(i, m)
	}
	wg.Wait()
	vs, err := r.ListVersions(ctx, "self", "mnist", false)
	require.NoError(t, err)
	assert.Len(t, vs, 4, "base and the three kept")
	latest, err := r.Resolve(ctx, "self", "mnist", "latest")
	require.NoError(t, err)
	assert.False(t, latest.Removed)
	seen := map[int]bool{base.Number: true}
	all, err := r.ListVersions(ctx, "self", "mnist", true)
	require.NoError(t, err)
	for _, v := range all[:len(all)-1] {
		assert.False(t, seen[v.Number], "number %d twice", v.Number)
		seen[v.Number] = true
	}
}
