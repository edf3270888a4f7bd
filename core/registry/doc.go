// Package registry keeps the versions of runtimes, models and datasets (one
// Kind per Registry value, see Of), tags, blobs, the trash (remove and
// recover) and garbage collection on top of any store.Store, so the
// standalone instance (store.FS) and the server (any store plugin) behave the
// same. It owns the meaning of keys; the store owns only bytes. It knows OCI
// image manifests (it reads their config and layers) but not the bundle
// format, which core/bundle builds and reads.
//
// # Key layout
//
//	blobs/sha256/<hex>                            content-addressed blobs: layers, configs, manifests
//	blobs/sha512/<hex>                            the same for sha512 digests (OCI pushes)
//	projects/<p>/runtimes/<name>/...              a runtime; models and datasets have the same tree
//	                                              under projects/<p>/models/<name>/ and
//	                                              projects/<p>/datasets/<name>/ (Kind.segment)
//	projects/<p>/runtimes/<name>/versions/<hex>   version record (JSON), <hex> = manifest digest
//	projects/<p>/runtimes/<name>/tags/<tag>       tag (JSON {"digest"}): latest, v<N>, user tags
//	projects/<p>/runtimes/<name>/counter          next N for v<N> (JSON {"next"})
//	projects/<p>/runtimes/<name>/removal          a removal of every version under way (removal.go)
//	projects/<p>/runtimes/<name>/links/<alg>/<hex>    blob readable through this repository (oci.go)
//	projects/<p>/runtimes/<name>/referrers/<alg>/<hex>/<alg>-<hex>
//	                                              descriptor of a manifest with that subject (oci.go)
//	leases/<alg>/<hex>                            blob a writer is about to reference (gc.go)
//	uploads/<id>/session, uploads/<id>/chunks/<offset>, uploads/<id>/hash/sha256/<end>
//	                                              OCI upload sessions, their chunks and hash states (uploads.go)
//
// A version record is {"digest", "number", "created" (UTC), "size" (bytes of
// the manifest and every distinct blob it references), "removed",
// "removed_at", "media_type" (absent for an OCI image manifest)}. Blobs are
// stored once and shared by every project, runtime and kind; a blob is
// readable through a repository (the OCI API) only where it is linked: by an
// upload or a mount there, or by a version of it referencing the blob
// (PutVersion and PutManifest link before writing the record).
//
// # Invariants
//
//   - A version exists when its record exists. The record is written last,
//     with IfNoneMatch, after its blobs, its manifest blob and its v<N> tag;
//     a crash at any point leaves either no record (and unreferenced blobs,
//     which GC frees) or a complete version. latest and user tags are moved
//     after the record; re-running the same PutVersion finishes the job.
//   - A tag counts only while it points to an existing record, and a v<N>
//     tag only while that record's number is N; anything else (left by a
//     crash or a lost race) is ignored and may be overwritten.
//   - Numbers come from the counter, advanced with a conditional put
//     (read-modify-write with IfMatch, retried): no two versions of a runtime
//     get the same N, and N is never reused, even after a hard remove. The
//     counter is never deleted. Numbers may have gaps (two processes racing
//     to add the same manifest; a crash between counter and record).
//   - Each tag is its own key, so concurrent taggers of different tags never
//     lose each other's work; a new tag is created with IfNoneMatch and a
//     moved one is replaced with IfMatch.
//   - latest and v<N> are reserved: only this package sets them. latest
//     moves to each new version (unless a concurrent build of a higher N got
//     there first), to a manifest added again (a rebuild or a copy-in of an
//     old version), back to a recovered version newer than it, and away from
//     a removed version to the newest remaining one (highest N). If it ever
//     points nowhere useful, Resolve("latest") and listings fall back to the
//     newest version. A version's record is the truth about its number: the
//     v<N> key is only the index Resolve("vN") reads.
//   - Remove is soft: the record is marked removed and kept with its tags,
//     so Recover restores it as it was; removed versions do not resolve,
//     list (unless asked) or keep user tags from moving. Remove with force
//     deletes the record and its tags; its blobs are freed by GC.
//   - RemoveRuntime removes every version as one operation: its removal
//     record is written first and is the commit point; every operation on
//     the runtime finishes a removal under way before it looks (settle), so
//     none sees some versions removed and others not.
//   - GC marks every blob referenced by any record (removed ones included)
//     and every blob with a fresh lease, and deletes the other blobs older
//     than a grace period (1h by default), so blobs a concurrent build has
//     just written survive. A writer that finds a blob already stored and
//     relies on it (an OCI HEAD, a mount, a build's dedupe, the links made
//     before a version record) leases it first: leases/<alg>/<hex>, a key
//     in the store, so GC on any server or process sharing the store sees
//     it; GC reads each victim's lease again right before deleting it (see
//     GC for the one round trip that remains).
//   - Durability: the commit points (version records, tags, counters,
//     removal records, referrers, upload sessions) are durable when their
//     Put returns. Blobs, links and leases may be committed unsynced
//     (store.Deferred with Checkable, as the local instance opens its
//     store): after a power loss the store verifies them before serving
//     and deletes the damaged ones, so a version whose record survived may
//     find a blob missing (*BlobUnknownError, as for any missing blob); a
//     re-copy or rebuild stats every blob and writes it again, and
//     PutVersion links every blob again (durability.go says why each kind
//     is safe).
package registry
