package store

import "context"

// Ingester is implemented by stores that can take a local file as the value
// of a key without copying it: the filesystem store renames the file into
// place. Ingest is atomic like Put (readers see the old value or the new one)
// and consumes localPath: on success the file is no longer at localPath. The
// file should live on the same filesystem as the store (see TempDirer); a
// store may fall back to copying when it does not.
//
// Callers that hold a large local file (a built layer, an imported blob) use
// it to avoid writing the bytes twice; they must not rely on it being there.
type Ingester interface {
	Ingest(ctx context.Context, key, localPath string) error
}

// TempDirer is implemented by stores that offer a folder for staging files
// that will be ingested: a file written there can be moved into the store
// without a copy. The folder exists; callers create uniquely named files in
// it (os.CreateTemp) and remove them if they do not ingest them. Stale files
// may be cleaned up by the store.
type TempDirer interface {
	TempDir() string
}
