package testpy

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/swcli/swcli/sdk/pyenv"
)

// Wheel describes a pure-Python wheel for BuildWheel.
type Wheel struct {
	Name    string
	Version string
	// Requires are Requires-Dist lines ("numpy>=1.0").
	Requires []string
	// Files maps a path inside the wheel to its content. When nil, the wheel
	// holds one package IMPORT/__init__.py (IMPORT is the name lowercased with
	// dashes and dots as underscores) that defines __version__ and a main()
	// printing "NAME VERSION FILE", handy for console scripts ("IMPORT:main").
	Files map[string][]byte
	// ConsoleScripts maps a script name to "module:func".
	ConsoleScripts map[string]string
	// Large adds files of n pseudo-random (deterministic) bytes, stored
	// uncompressed, for benchmarks.
	Large map[string]int64
}

var nameRun = regexp.MustCompile(`[-_.]+`)

// NormalizeName is the PEP 503 normalized project name ("Foo_Bar" → "foo-bar"):
// pyenv.CanonicalName.
func NormalizeName(name string) string { return pyenv.CanonicalName(name) }

// WheelNamePart escapes a project name for a wheel file or dist-info folder
// name (PEP 427: runs of -_. become "_").
func WheelNamePart(name string) string { return nameRun.ReplaceAllString(name, "_") }

// ImportName is the default top-level package of a Wheel without Files.
func ImportName(name string) string { return strings.ToLower(nameRun.ReplaceAllString(name, "_")) }

// WheelFileName is the file name BuildWheel gives w.
func WheelFileName(w Wheel) string {
	return fmt.Sprintf("%s-%s-py3-none-any.whl", WheelNamePart(w.Name), strings.ReplaceAll(w.Version, "-", "_"))
}

// zipTime is the fixed timestamp of every entry, so bytes are deterministic.
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// BuildWheel writes a valid pure-Python wheel for w into dir (created if
// missing) and returns its path. The bytes depend only on w.
func BuildWheel(dir string, w Wheel) (string, error) {
	if w.Name == "" || w.Version == "" {
		return "", fmt.Errorf("testpy: wheel needs a name and a version")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	files := w.Files
	if files == nil {
		imp := ImportName(w.Name)
		files = map[string][]byte{
			imp + "/__init__.py": fmt.Appendf(nil, "__version__ = %q\n\n\ndef main():\n    print(%q + \" \" + __version__ + \" \" + __file__)\n", w.Version, w.Name),
		}
	}
	distInfo := fmt.Sprintf("%s-%s.dist-info", WheelNamePart(w.Name), strings.ReplaceAll(w.Version, "-", "_"))

	var meta bytes.Buffer
	fmt.Fprintf(&meta, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n", w.Name, w.Version)
	for _, r := range w.Requires {
		fmt.Fprintf(&meta, "Requires-Dist: %s\n", r)
	}
	wheelMeta := "Wheel-Version: 1.0\nGenerator: swcli-testpy\nRoot-Is-Purelib: true\nTag: py3-none-any\n"

	path := filepath.Join(dir, WheelFileName(w))
	tmp, err := os.CreateTemp(dir, ".wheel-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	zw := zip.NewWriter(tmp)
	var record bytes.Buffer
	add := func(name string, method uint16, write func(io.Writer) error) error {
		h := &zip.FileHeader{Name: name, Method: method, Modified: zipTime}
		h.SetMode(0o644)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		cw := &countHash{h: sha256.New()}
		if err := write(io.MultiWriter(fw, cw)); err != nil {
			return err
		}
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", csvField(name), base64.RawURLEncoding.EncodeToString(cw.h.Sum(nil)), cw.n)
		return nil
	}
	addBytes := func(name string, b []byte) error {
		return add(name, zip.Deflate, func(w io.Writer) error { _, err := w.Write(b); return err })
	}

	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := addBytes(n, files[n]); err != nil {
			return "", err
		}
	}
	var large []string
	for n := range w.Large {
		large = append(large, n)
	}
	sort.Strings(large)
	for _, n := range large {
		size := w.Large[n]
		seed := sha256.Sum256([]byte(n))
		if err := add(n, zip.Store, func(out io.Writer) error {
			return writeRandom(out, seed, size)
		}); err != nil {
			return "", err
		}
	}
	if err := addBytes(distInfo+"/METADATA", meta.Bytes()); err != nil {
		return "", err
	}
	if err := addBytes(distInfo+"/WHEEL", []byte(wheelMeta)); err != nil {
		return "", err
	}
	if len(w.ConsoleScripts) > 0 {
		var ep bytes.Buffer
		ep.WriteString("[console_scripts]\n")
		var ks []string
		for k := range w.ConsoleScripts {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			fmt.Fprintf(&ep, "%s = %s\n", k, w.ConsoleScripts[k])
		}
		if err := addBytes(distInfo+"/entry_points.txt", ep.Bytes()); err != nil {
			return "", err
		}
	}
	fmt.Fprintf(&record, "%s/RECORD,,\n", distInfo)
	h := &zip.FileHeader{Name: distInfo + "/RECORD", Method: zip.Deflate, Modified: zipTime}
	h.SetMode(0o644)
	fw, err := zw.CreateHeader(h)
	if err != nil {
		return "", err
	}
	if _, err := fw.Write(record.Bytes()); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	return path, nil
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

type countHash struct {
	h hash.Hash
	n int64
}

func (c *countHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

func writeRandom(w io.Writer, seed [32]byte, n int64) error {
	r := rand.NewChaCha8(seed)
	buf := make([]byte, 1<<16)
	for n > 0 {
		k := int64(len(buf))
		if n < k {
			k = n
		}
		_, _ = r.Read(buf[:k])
		if _, err := w.Write(buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}
