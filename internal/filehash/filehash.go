// Package filehash owns the ways this module hashes a whole file: the hex
// sha256 of its bytes, as plugins.yaml checksums and PEP 503 index
// fragments write it, and the XXH64 of its bytes, the content check of a
// tree cache entry (internal/treecache). It only reads the file.
package filehash

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"

	"github.com/cespare/xxhash/v2"
)

// SHA256 is the lowercase hex sha256 of the bytes of the file at path.
func SHA256(path string) (string, error) {
	h := sha256.New()
	if err := hashInto(h, path); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashInto writes the bytes of the file at path into h.
func hashInto(h io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(h, f)
	return err
}

// XXH64 is the XXH64 (seed 0) of the bytes of the file at path: the check
// a local cache makes that a file it wrote is still what it wrote. It is
// not a digest: nothing that crosses a trust boundary is checked with it
// (blobs and layers are checked by sha256), only accidental change.
func XXH64(path string) (uint64, error) {
	h := xxhash.New()
	if err := hashInto(h, path); err != nil {
		return 0, err
	}
	return h.Sum64(), nil
}
