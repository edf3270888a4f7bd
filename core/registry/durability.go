package registry

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/opencontainers/go-digest"
)

// markRecord is the whole content of a lease and of a link: what they say
// is in their key (and a lease's mtime), never in their bytes.
const markRecord = "{}\n"

// Checkable is the store.Checker of the registry's keys: the keys a store
// may commit without waiting for the disk (store.Deferred), because what
// a power loss can do to them is found afterwards and undone by deleting
// them. Why each kind is safe:
//
//   - blobs/<alg>/<hex>: content-addressed; verified by digest. A damaged
//     blob is deleted, so a version that references it reports the blob
//     missing (*BlobUnknownError on read, as for any missing blob) and a
//     re-copy or rebuild, which stats every blob, writes it again.
//   - leases/<alg>/<hex>: content fixed ("{}\n"); a lease only keeps GC
//     off a blob a writer is about to reference. A writer that was running
//     at the power loss died with it; one that finished wrote its version
//     record (synced), which keeps the blob on its own. A lost lease
//     protects nobody who still needs it.
//   - projects/<p>/<kind>s/<name>/links/<alg>/<hex>: content fixed; only
//     the OCI view of a repository reads it. PutVersion links every blob
//     of a version before it looks at the record, so re-running the copy
//     or build of a version whose link was lost makes it again.
//
// Every other key (version records, tags, counters, removal records,
// referrers, upload sessions) is a commit point or holds what nothing
// else can tell, and is not Checkable: the store keeps it synced.
func Checkable(key string) (verify func(io.Reader) error, ok bool) {
	parts := strings.Split(key, "/")
	var alg, hex string
	switch {
	case len(parts) == 3 && (parts[0] == "blobs" || parts[0] == "leases"):
		alg, hex = parts[1], parts[2]
	case len(parts) == 7 && parts[0] == "projects" && parts[4] == "links":
		if _, ok := kindOfSegment(parts[2]); !ok {
			return nil, false
		}
		alg, hex = parts[5], parts[6]
	default:
		return nil, false
	}
	d := digest.NewDigestFromEncoded(digest.Algorithm(alg), hex)
	if checkDigest(d) != nil {
		return nil, false
	}
	if parts[0] == "blobs" {
		return func(r io.Reader) error { return verifyDigest(r, d) }, true
	}
	return verifyMark, true
}

// verifyDigest reads r to the end and fails unless it hashes to d.
func verifyDigest(r io.Reader, d digest.Digest) error {
	v := d.Verifier()
	if _, err := io.Copy(v, r); err != nil {
		return err
	}
	if !v.Verified() {
		return fmt.Errorf("blob %s: content does not match its digest", d)
	}
	return nil
}

// verifyMark fails unless r holds exactly markRecord.
func verifyMark(r io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(r, int64(len(markRecord))+1))
	if err != nil {
		return err
	}
	if !bytes.Equal(b, []byte(markRecord)) {
		return fmt.Errorf("mark record: %q is not %q", b, markRecord)
	}
	return nil
}
