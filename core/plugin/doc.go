// Package plugin is the host side of swcli's plugins: it discovers plugins
// from plugins.yaml files, verifies their checksums, launches them lazily with
// hashicorp/go-plugin, hands out plain mode.Mode and store.Store values, and
// kills every plugin process when the host is done (also on signals and when
// the host dies: plugins get SIGTERM through the parent-death signal).
//
// It owns no gRPC types: those stay inside internal/pluginwire.
package plugin
