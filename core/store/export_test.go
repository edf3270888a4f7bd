package store

// WithBootForTest makes a store believe it runs in boot id: a test opens
// the same root "in a later boot" with another id.
var WithBootForTest = withBoot

// Syncs counts the file and folder fsyncs (and syncfs calls) s made.
func Syncs(s *FS) int64 { return s.syncs.Load() }
