package workflow

import (
	"cmp"
	"context"
	"runtime"
	"slices"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/layercache"
)

// extractLayers puts env layers into prefix, several at a time (one per
// CPU, largest first), through the layer cache (placeLayer): linked from
// it when cached, unpacked into it first when not; own are the files
// relocation rewrites, copied per environment. Env layers never share
// files (envpack puts each file in exactly one layer), so their order does
// not matter; they share only parent folders. It returns the Python
// distributions the layers hold (layercache.Dists), known=false when not
// every layer's list is known.
func (s *Service) extractLayers(ctx context.Context, src *source, layers []ocispec.Descriptor, prefix string, own map[string]bool) (dists []layercache.Dist, known bool, err error) {
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
	known = true
	total := int64(len(order))
	s.stage("unpack layers", 0, total)
	next := make(chan ocispec.Descriptor)
	for range max(1, min(len(order), runtime.NumCPU())) {
		wg.Go(func() {
			for l := range next {
				ds, ok, err := s.placeLayer(ctx, lc, src, l, prefix, own)
				if err != nil {
					cancel(err)
					continue
				}
				mu.Lock()
				dists, known = append(dists, ds...), known && ok
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
	if err := context.Cause(ctx); err != nil {
		return nil, false, err
	}
	return dists, known, nil
}
