// Package ocilimits holds the size limits of OCI manifests that every
// reader in swcli enforces: core/bundle (reading a .swrt bundle) and
// core/registry (accepting a pushed or copied version) use these, so a
// manifest that one accepts the other accepts too.
package ocilimits

// MaxManifestSize bounds a manifest (and a config blob) read into memory:
// 4 MiB, distribution's limit, so a bundle's manifest can be pushed to any
// OCI registry and to swcli's own server.
const MaxManifestSize = 4 << 20

// MaxLayers is the most layers a manifest may have: that many layer
// descriptors with swcli's annotations fit in MaxManifestSize.
const MaxLayers = 10000
