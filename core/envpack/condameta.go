package envpack

import (
	"bytes"
	"encoding/json"
	"path"
	"regexp"
	"strings"
)

// conda-meta normalization. A conda prefix's conda-meta records hold what
// depends on where and when it was made: each file's sha256_in_prefix
// (conda's hash of the file after it wrote the prefix into it), the build
// machine's package cache (extracted_package_dir, package_tarball_full_path,
// link.source), and conda-meta/history's timestamps. Packed as they are,
// the same runtime.yaml gives another version in another folder or at
// another time. They are packed normalized: the prefix-dependent hashes
// left out (the conda mode writes them again for the new prefix when it
// relocates), the cache paths cleared (the target has its own cache), the
// history's timestamps fixed.

// isCondaMetaRecord reports whether rel is a conda-meta/*.json record.
func isCondaMetaRecord(rel string) bool {
	return path.Dir(rel) == "conda-meta" && strings.HasSuffix(rel, ".json")
}

// normalizeCondaRecord returns the record normalized (NormalizeCondaRecord);
// ok is false when nothing changed or data is not a JSON object.
func normalizeCondaRecord(data []byte) ([]byte, bool) {
	var rec map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // sizes and timestamps exactly as written
	if dec.Decode(&rec) != nil || rec == nil || !NormalizeCondaRecord(rec) {
		return nil, false
	}
	out, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, false
	}
	return append(out, '\n'), true
}

// NormalizeCondaRecord removes from a decoded conda-meta record what
// depends on the machine and the prefix: the package-cache paths
// (extracted_package_dir, package_tarball_full_path, link.source) are
// cleared and sha256_in_prefix is dropped from the paths that have a
// prefix_placeholder. It reports whether it changed rec. The conda mode
// calls it when it relocates too (bundles packed before it existed).
func NormalizeCondaRecord(rec map[string]any) bool {
	changed := false
	for _, k := range []string{"extracted_package_dir", "package_tarball_full_path"} {
		if v, ok := rec[k].(string); ok && v != "" {
			rec[k] = ""
			changed = true
		}
	}
	if link, ok := rec["link"].(map[string]any); ok {
		if v, ok := link["source"].(string); ok && v != "" {
			link["source"] = ""
			changed = true
		}
	}
	for _, e := range CondaPlaceholderPaths(rec) {
		if _, ok := e["sha256_in_prefix"]; ok {
			delete(e, "sha256_in_prefix")
			changed = true
		}
	}
	return changed
}

// CondaPlaceholderPaths are the paths_data entries of a decoded conda-meta
// record that have a prefix_placeholder: the files conda wrote the prefix
// into.
func CondaPlaceholderPaths(rec map[string]any) []map[string]any {
	pd, _ := rec["paths_data"].(map[string]any)
	paths, _ := pd["paths"].([]any)
	var out []map[string]any
	for _, p := range paths {
		if e, ok := p.(map[string]any); ok {
			if _, placeholder := e["prefix_placeholder"]; placeholder {
				out = append(out, e)
			}
		}
	}
	return out
}

// historyStamp is the head line of one transaction in conda-meta/history.
var historyStamp = regexp.MustCompile(`(?m)^==> .* <==$`)

// fixedStamp replaces every timestamp: the order of the transactions is
// the order of the lines.
const fixedStamp = "==> 1970-01-01 00:00:00 <=="

// normalizeCondaHistory fixes the timestamps of conda-meta/history.
func normalizeCondaHistory(data []byte) ([]byte, bool) {
	out := historyStamp.ReplaceAll(data, []byte(fixedStamp))
	return out, !bytes.Equal(out, data)
}
