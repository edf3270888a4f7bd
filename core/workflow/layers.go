package workflow

import (
	"context"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/registry"
)

// extractOptions bounds a layer's extraction by what its descriptor says.
func extractOptions(d ocispec.Descriptor) bundle.ExtractOptions {
	o := bundle.ExtractOptions{Digest: d.Digest, MaxFiles: 2_000_000}
	if n, err := bundle.UncompressedSize(d); err == nil && n > 0 {
		o.MaxBytes = n
	} else {
		o.MaxBytes = 256 << 30
	}
	return o
}

// extractBlob extracts a stored layer into dest.
func extractBlob(ctx context.Context, reg *registry.Registry, d ocispec.Descriptor, dest string) error {
	rc, _, err := reg.GetBlob(ctx, d.Digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = bundle.ExtractLayer(ctx, rc, dest, extractOptions(d))
	return err
}
