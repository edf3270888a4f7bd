// Package pluginwire is the swcli plugin protocol, shared by the host
// (core/plugin) and the plugin side (sdk): the go-plugin handshake, the
// plugin sets per protocol version, and the adapters between the plain Go
// interfaces core/mode.Mode and core/store.Store and the gRPC services of
// internal/pluginwire/pb. It owns the mapping of events, results and typed
// errors across the wire. Nothing outside this tree sees a gRPC, protobuf
// or go-plugin type: plugin authors use sdk, the host uses core/plugin.
//
// What an already-built plugin sees must not change here without a new
// protocol version: the handshake cookie, the protocol versions and the
// gRPC service names (package swcli.plugin.v1 in pb/plugin.proto).
package pluginwire
