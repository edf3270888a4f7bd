//go:build !linux

package store

// machineBoot cannot be told here: "" (every Append syncs).
func machineBoot() string { return "" }
