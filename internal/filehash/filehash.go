// Package filehash owns the one way this module hashes a whole file: the
// hex sha256 of its bytes, as plugins.yaml checksums, PEP 503 index
// fragments and cache entries write it. It only reads the file.
package filehash

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
)

// SHA256 is the lowercase hex sha256 of the bytes of the file at path.
func SHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
