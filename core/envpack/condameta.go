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

// normalizeCondaRecord returns the record with sha256_in_prefix removed
// from the paths that have a prefix placeholder and the package-cache paths
// cleared; ok is false when nothing changed or data is not a JSON object.
func normalizeCondaRecord(data []byte) ([]byte, bool) {
	var rec map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // sizes and timestamps exactly as written
	if dec.Decode(&rec) != nil || rec == nil {
		return nil, false
	}
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
	if pd, ok := rec["paths_data"].(map[string]any); ok {
		paths, _ := pd["paths"].([]any)
		for _, p := range paths {
			e, ok := p.(map[string]any)
			if !ok {
				continue
			}
			if _, placeholder := e["prefix_placeholder"]; !placeholder {
				continue
			}
			if _, ok := e["sha256_in_prefix"]; ok {
				delete(e, "sha256_in_prefix")
				changed = true
			}
		}
	}
	if !changed {
		return nil, false
	}
	out, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, false
	}
	return append(out, '\n'), true
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
