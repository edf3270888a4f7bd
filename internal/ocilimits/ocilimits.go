// Package ocilimits holds the size limits of OCI manifests that every
// reader in swcli enforces: core/bundle (reading a .swrt bundle) and
// core/registry (accepting a pushed or copied version) use these, so a
// manifest that one accepts the other accepts too.
package ocilimits

// MaxLayers is the most layers a manifest may have.
const MaxLayers = 100000

// MaxManifestSize bounds a manifest (and a config blob) read into memory:
// MaxLayers layer descriptors with their annotations take about 35 MB.
const MaxManifestSize = 64 << 20
