//go:build !swclitest

package remote

// chunkSize is how much of a blob one PATCH sends: ChunkSize (the test
// build of swcli also reads SWCLI_TEST_CHUNK_SIZE, testhooks_swclitest.go).
func chunkSize() int64 { return ChunkSize }
