//go:build !unix

package bundle

import "os"

// writev writes pieces to f, one after the other.
func writev(f *os.File, pieces [][]byte) (int64, error) { return writeEach(f, pieces) }
