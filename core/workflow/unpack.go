package workflow

import (
	"cmp"
	"context"
	"runtime"
	"slices"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// extractLayers puts env layers into prefix, several at a time (one per
// CPU, largest first), through the layer cache (placeLayer): linked from
// it when cached, unpacked into it first when not; own are the files
// relocation rewrites, copied per environment. Env layers never share
// files (envpack puts each file in exactly one layer), so their order does
// not matter; they share only parent folders.
func (s *Service) extractLayers(ctx context.Context, src *source, layers []ocispec.Descriptor, prefix string, own map[string]bool) error {
	lc := s.unpackedLayers()
	order := slices.Clone(layers)
	slices.SortStableFunc(order, func(a, b ocispec.Descriptor) int { return cmp.Compare(b.Size, a.Size) })
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu   sync.Mutex
		done int64
		wg   sync.WaitGroup
	)
	total := int64(len(order))
	s.stage("unpack layers", 0, total)
	next := make(chan ocispec.Descriptor)
	for range max(1, min(len(order), runtime.NumCPU())) {
		wg.Go(func() {
			for l := range next {
				if err := s.placeLayer(ctx, lc, src, l, prefix, own); err != nil {
					cancel(err)
					continue
				}
				mu.Lock()
				done++
				s.stage("unpack layers", done, total)
				mu.Unlock()
			}
		})
	}
loop:
	for _, l := range order {
		select {
		case next <- l:
		case <-ctx.Done():
			break loop
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}
