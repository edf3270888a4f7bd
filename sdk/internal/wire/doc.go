// Package wire adapts the plain Go interfaces core/mode.Mode and
// core/store.Store to the gRPC services of sdk/internal/pb and back. It owns
// the mapping of events, results and typed errors across the wire; nothing
// outside sdk/ sees a gRPC or protobuf type.
package wire
