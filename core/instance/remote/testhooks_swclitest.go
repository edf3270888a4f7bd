//go:build swclitest

package remote

import (
	"os"
	"strconv"
)

// chunkSize is ChunkSize, or SWCLI_TEST_CHUNK_SIZE (bytes), which end-to-end
// tests set to stop a copy in the middle of a small blob. Only the test
// build (-tags swclitest) reads it; the shipped swcli has no test hooks.
func chunkSize() int64 {
	if n, err := strconv.ParseInt(os.Getenv("SWCLI_TEST_CHUNK_SIZE"), 10, 64); err == nil && n > 0 {
		return n
	}
	return ChunkSize
}
