// Package bundle owns the .swrt format: the deterministic writer and the safe
// reader of layers, and of the .swrt file itself (an OCI image layout in one
// tar). It does not know about registries, stores or Python: callers give it
// files to pack and streams to read, and get digests, descriptors and paths
// back.
//
// The contract:
//
//   - PackLayer writes a layer: a tar compressed with zstd, as independent frames
//     of FrameSize bytes of tar each, compressed in parallel (frames.go), those
//     whose bytes look random stored in raw blocks, and read back as one
//     stream by any zstd reader. The bytes depend only
//     on the relative paths and the contents, file types and executable bits of
//     what they name: entries are sorted, parents come before children,
//     timestamps and owners are zero, modes are 0755 (directories and executable
//     files) or 0644, compression settings and FrameSize are fixed (LayerFormat
//     names them). Packing the same tree on any machine, with any number of
//     CPUs, gives the same digest.
//   - Manifest and WriteSWRT are deterministic in the same way: the same layers
//     give the same manifest digest, which is the runtime version.
//   - ReadSWRT and ExtractLayer never trust their input: every refusal is a
//     *FormatError, every blob is verified against its digest while it streams,
//     and nothing is ever written outside the directory they are given.
//     Cleaning up after an error (removing that directory) is the caller's job.
package bundle

import (
	"strconv"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Media types of a Starwhale runtime bundle.
const (
	// ArtifactType is the artifactType of the manifest.
	ArtifactType = "application/vnd.starwhale.runtime.v1"
	// MediaTypeConfig is the media type of the config blob (the runtime manifest).
	MediaTypeConfig = "application/vnd.starwhale.runtime.config.v1+json"
	// MediaTypeLayer is the media type of every layer: a tar compressed with zstd.
	MediaTypeLayer = "application/vnd.starwhale.runtime.layer.v1.tar+zstd"
)

// Models and datasets are bundles of the same format: their own artifact and
// config types, and layers of RoleFiles (tar+zstd layers as above).
const (
	ArtifactTypeModel      = "application/vnd.starwhale.model.v1"
	ArtifactTypeDataset    = "application/vnd.starwhale.dataset.v1"
	MediaTypeConfigModel   = "application/vnd.starwhale.model.config.v1+json"
	MediaTypeConfigDataset = "application/vnd.starwhale.dataset.config.v1+json"
)

// configTypes maps each artifact type to its config media type.
var configTypes = map[string]string{
	ArtifactType:        MediaTypeConfig,
	ArtifactTypeModel:   MediaTypeConfigModel,
	ArtifactTypeDataset: MediaTypeConfigDataset,
}

// Layer annotations.
const (
	// AnnotationRole says what a layer holds: RoleSnapshot, RoleBase or RolePackage.
	AnnotationRole = "org.starwhale.runtime.layer.role"
	// AnnotationPackage is "name==version" of the distribution in a package layer.
	AnnotationPackage = "org.starwhale.runtime.layer.package"
	// AnnotationUncompressedSize is the size in bytes of the layer's tar, in
	// decimal. Readers use it as the limit against tar bombs.
	AnnotationUncompressedSize = "org.starwhale.runtime.layer.uncompressed-size"
	// AnnotationRefName is the OCI annotation that names a manifest in index.json.
	AnnotationRefName = ocispec.AnnotationRefName
)

// Layer roles (values of AnnotationRole).
const (
	RoleSnapshot = "snapshot" // runtime.yaml, requirement files, locks, wheels, files
	RoleBase     = "base"     // the environment minus its distributions
	RolePackage  = "package"  // one installed distribution
	RoleFiles    = "files"    // files of a model or dataset (not in a runtime)
)

// LayerDescriptor returns the manifest descriptor of a packed layer. pkg is the
// "name==version" of the distribution for RolePackage and empty otherwise.
func LayerDescriptor(info LayerInfo, role, pkg string) ocispec.Descriptor {
	a := map[string]string{
		AnnotationRole:             role,
		AnnotationUncompressedSize: strconv.FormatInt(info.UncompressedSize, 10),
	}
	if pkg != "" {
		a[AnnotationPackage] = pkg
	}
	return ocispec.Descriptor{
		MediaType:   MediaTypeLayer,
		Digest:      info.Digest,
		Size:        info.Size,
		Annotations: a,
	}
}

// ConfigDescriptor returns the manifest descriptor of a config blob.
func ConfigDescriptor(config []byte) ocispec.Descriptor {
	return ocispec.Descriptor{
		MediaType: MediaTypeConfig,
		Digest:    digest.FromBytes(config),
		Size:      int64(len(config)),
	}
}
