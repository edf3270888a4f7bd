// Package pb is the generated protobuf and gRPC code of the swcli plugin
// protocol (plugin.proto). Regenerate with
//
//	protoc --go_out=. --go_opt=paths=source_relative \
//	  --go-grpc_out=. --go-grpc_opt=paths=source_relative plugin.proto
//
// (protoc from Debian's protobuf-compiler; protoc-gen-go and
// protoc-gen-go-grpc from the Go module proxy). Only internal/pluginwire
// imports it.
package pb
