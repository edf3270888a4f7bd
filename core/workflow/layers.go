package workflow

import (
	"context"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/instance"
)

// extractOptions bounds a layer's extraction by what its descriptor says.
func extractOptions(d ocispec.Descriptor) bundle.ExtractOptions {
	return instance.LayerExtractOptions(d)
}

// extractBlob extracts a stored layer into dest.
func extractBlob(ctx context.Context, p instance.Blobs, d ocispec.Descriptor, dest string) error {
	rc, err := p.Get(ctx, d.Digest, 0)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = bundle.ExtractLayer(ctx, rc, dest, extractOptions(d))
	return err
}
