//go:build unix && !linux

package treecache

// spreadTrees does nothing here: only Linux has the flag (see
// spread_linux.go).
func spreadTrees(string) {}
