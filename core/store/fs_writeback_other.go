//go:build !linux

package store

import "os"

// startWriteback is a no-op where there is no sync_file_range: the closing
// fsync then writes everything.
func startWriteback(*os.File, int64, int64) {}

// machineBoot cannot be told here: "" (every Append syncs).
func machineBoot() string { return "" }
