package bundle

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Names inside a .swrt.
const (
	layoutFile = ocispec.ImageLayoutFile // "oci-layout"
	indexFile  = ocispec.ImageIndexFile  // "index.json"
	blobsDir   = "blobs"
	sha256Dir  = "blobs/sha256"

	maxLayoutFileSize = 4 << 10
	maxIndexFileSize  = 1 << 20
)

// WriteOptions tune WriteSWRT.
type WriteOptions struct {
	// RefName, if set, is the org.opencontainers.image.ref.name annotation of
	// the manifest in index.json (a tag, such as "v1").
	RefName string
}

// OpenBlobFunc opens a blob by digest and returns its reader and size.
type OpenBlobFunc func(d digest.Digest) (io.ReadCloser, int64, error)

// WriteSWRT writes a .swrt to w: a tar holding oci-layout, index.json (one
// manifest descriptor), then blobs/sha256/<hex> for the manifest, the config
// and every layer in manifest order, each blob once. Headers are normalized as
// in layers; blobs are not compressed again. open gives the config and layer
// blobs; their sizes and digests are checked while they are copied, and a
// mismatch is a *FormatError (w then holds a partial bundle, to be discarded).
func WriteSWRT(w io.Writer, manifest []byte, open OpenBlobFunc, opts ...WriteOptions) error {
	var o WriteOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	m, err := ParseManifest(manifest)
	if err != nil {
		return err
	}
	md := digest.FromBytes(manifest)
	desc := ocispec.Descriptor{
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: ArtifactType,
		Digest:       md,
		Size:         int64(len(manifest)),
	}
	if o.RefName != "" {
		desc.Annotations = map[string]string{AnnotationRefName: o.RefName}
	}
	index, err := json.Marshal(ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{desc},
	})
	if err != nil {
		return err
	}
	layout, err := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err != nil {
		return err
	}

	tw := tar.NewWriter(w)
	writeBytes := func(name string, data []byte) error {
		if err := tw.WriteHeader(fileHeader(name, int64(len(data)), false)); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := writeBytes(layoutFile, layout); err != nil {
		return err
	}
	if err := writeBytes(indexFile, index); err != nil {
		return err
	}
	for _, d := range []string{blobsDir, sha256Dir} {
		if err := tw.WriteHeader(dirHeader(d)); err != nil {
			return err
		}
	}
	if err := writeBytes(blobName(md), manifest); err != nil {
		return err
	}
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	seen := map[digest.Digest]bool{md: true}
	for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		if seen[d.Digest] {
			continue
		}
		seen[d.Digest] = true
		if err := copyBlob(tw, d, open, *bp); err != nil {
			return err
		}
	}
	return tw.Close()
}

func blobName(d digest.Digest) string { return sha256Dir + "/" + d.Encoded() }

func copyBlob(tw *tar.Writer, d ocispec.Descriptor, open OpenBlobFunc, buf []byte) error {
	rc, size, err := open(d.Digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	if size != d.Size {
		return formatErr(string(d.Digest), "blob is %d bytes, the manifest says %d", size, d.Size)
	}
	if err := tw.WriteHeader(fileHeader(blobName(d.Digest), size, false)); err != nil {
		return err
	}
	h := sha256.New()
	n, err := copyBuffer(io.MultiWriter(tw, h), rc, size, buf)
	if err != nil {
		return err
	}
	if n != size {
		return formatErr(string(d.Digest), "blob is %d bytes, the manifest says %d", n, size)
	}
	if got := digest.NewDigestFromBytes(digest.SHA256, h.Sum(nil)); got != d.Digest {
		return formatErr(string(d.Digest), "blob content has digest %s", got)
	}
	return nil
}

// copyBuffer copies at most n bytes from r to w through buf (unlike
// io.CopyBuffer, it never falls back to ReaderFrom/WriterTo with their small
// buffers) and returns how many it copied; a short source is not an error.
func copyBuffer(w io.Writer, r io.Reader, n int64, buf []byte) (int64, error) {
	var done int64
	for done < n {
		k := int(min(int64(len(buf)), n-done))
		m, err := io.ReadFull(r, buf[:k])
		if m > 0 {
			if _, werr := w.Write(buf[:m]); werr != nil {
				return done, werr
			}
			done += int64(m)
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return done, nil
			}
			return done, err
		}
	}
	return done, nil
}

// Limits bound what ReadSWRT accepts. Zero means no limit.
type Limits struct {
	MaxTotal int64 // bytes of all entries' content together
	MaxBlobs int   // blobs (manifest, config and layers)
}

// DefaultLimits are generous limits for bundles from untrusted sources.
var DefaultLimits = Limits{MaxTotal: 64 << 30, MaxBlobs: MaxLayers + 2}

// Layout is a .swrt read by ReadSWRT.
type Layout struct {
	Manifest       []byte
	ManifestDigest digest.Digest
	RefName        string // the manifest's ref name in index.json, if any
	Config         []byte
	// Blobs maps the digest of every blob (manifest, config, layers) to the
	// file under the directory given to ReadSWRT that holds it, verified.
	Blobs map[digest.Digest]string
}

// ReadSWRT reads a .swrt from r, its entries in any order, writing each blob to
// a file named by its hex digest under dir (which the caller made, on the
// filesystem it will rename the blobs into) and verifying its digest as it
// streams. It then checks that index.json names exactly one manifest, that the
// manifest parses (ParseManifest), and that every blob it references is present
// with the right size, and no other. It refuses entries other than oci-layout,
// index.json, blobs/, blobs/sha256/ and blobs/sha256/<64 hex> (and the same with
// a leading "./"): absolute paths, "..", links of any kind, devices, duplicates;
// content beyond limits; truncated input. Every refusal is a *FormatError
// (errors.Is(err, io.ErrUnexpectedEOF) for truncated input). Nothing is written
// outside dir; on error the caller removes dir.
func ReadSWRT(ctx context.Context, r io.Reader, dir string, limits Limits) (*Layout, error) {
	end := &endReader{r: r}
	src := tar.NewReader(end)
	var (
		layout, index []byte
		haveLayout    bool
		haveIndex     bool
		seen          = map[string]bool{}
		blobs         = map[digest.Digest]string{}
		sizes         = map[digest.Digest]int64{}
		total         int64
	)
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	buf := *bp
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := src.Next()
		if err == io.EOF {
			if !end.ended() {
				return nil, errNoEnd
			}
			break
		}
		if err != nil {
			return nil, tarErr("", err)
		}
		name, kind, reason := classifySWRT(hdr)
		if reason != "" {
			return nil, formatErr(hdr.Name, "%s", reason)
		}
		if seen[name] {
			return nil, formatErr(hdr.Name, "duplicate entry")
		}
		seen[name] = true
		if limits.MaxTotal > 0 && hdr.Size > limits.MaxTotal-total {
			return nil, formatErr(hdr.Name, "bundle content exceeds the limit of %d bytes", limits.MaxTotal)
		}
		total += hdr.Size
		switch kind {
		case swrtDir:
		case swrtLayout, swrtIndex:
			max := int64(maxLayoutFileSize)
			if kind == swrtIndex {
				max = maxIndexFileSize
			}
			if hdr.Size > max {
				return nil, formatErr(hdr.Name, "is %d bytes, at most %d are allowed", hdr.Size, max)
			}
			data, err := io.ReadAll(src)
			if err != nil {
				return nil, tarErr(hdr.Name, err)
			}
			if kind == swrtIndex {
				index, haveIndex = data, true
			} else {
				layout, haveLayout = data, true
			}
		case swrtBlob:
			if limits.MaxBlobs > 0 && len(blobs) >= limits.MaxBlobs {
				return nil, formatErr(hdr.Name, "bundle has more than %d blobs", limits.MaxBlobs)
			}
			hexd := name[len(sha256Dir)+1:]
			d := digest.NewDigestFromEncoded(digest.SHA256, hexd)
			p := filepath.Join(dir, hexd)
			if err := readBlob(ctx, src, hdr, p, hexd, buf); err != nil {
				return nil, err
			}
			blobs[d], sizes[d] = p, hdr.Size
		}
	}
	if !haveLayout {
		return nil, formatErr(layoutFile, "is missing")
	}
	var l ocispec.ImageLayout
	if err := json.Unmarshal(layout, &l); err != nil || l.Version != ocispec.ImageLayoutVersion {
		return nil, formatErr(layoutFile, "imageLayoutVersion is not %q", ocispec.ImageLayoutVersion)
	}
	if !haveIndex {
		return nil, formatErr(indexFile, "is missing")
	}
	desc, err := parseIndex(index)
	if err != nil {
		return nil, err
	}
	out := &Layout{ManifestDigest: desc.Digest, RefName: desc.Annotations[AnnotationRefName], Blobs: blobs}
	if out.Manifest, err = readBlobFile(blobs, sizes, desc); err != nil {
		return nil, err
	}
	m, err := ParseManifest(out.Manifest)
	if err != nil {
		return nil, err
	}
	refs := map[digest.Digest]bool{desc.Digest: true}
	if out.Config, err = readBlobFile(blobs, sizes, m.Config); err != nil {
		return nil, err
	}
	refs[m.Config.Digest] = true
	for _, l := range m.Layers {
		if err := checkBlob(sizes, l); err != nil {
			return nil, err
		}
		refs[l.Digest] = true
	}
	for d := range blobs {
		if !refs[d] {
			return nil, formatErr(blobName(d), "blob is not referenced by the manifest")
		}
	}
	return out, nil
}

type swrtKind int

const (
	swrtDir swrtKind = iota
	swrtLayout
	swrtIndex
	swrtBlob
)

// classifySWRT returns the normalized name of an entry and its kind, or why
// the entry is not allowed.
func classifySWRT(hdr *tar.Header) (string, swrtKind, string) {
	raw := hdr.Name
	if strings.HasPrefix(raw, "/") {
		return "", 0, "absolute path"
	}
	if strings.IndexByte(raw, 0) >= 0 {
		return "", 0, "path contains a NUL byte"
	}
	for seg := range strings.SplitSeq(raw, "/") {
		if seg == ".." {
			return "", 0, "path escapes the bundle"
		}
	}
	if reason := checkType(hdr, false); reason != "" {
		return "", 0, reason
	}
	name := strings.TrimPrefix(raw, "./")
	if hdr.Typeflag == tar.TypeDir {
		switch strings.TrimSuffix(name, "/") {
		case "", ".":
			return ".", swrtDir, ""
		case blobsDir:
			return blobsDir, swrtDir, ""
		case sha256Dir:
			return sha256Dir, swrtDir, ""
		}
		return "", 0, "unexpected directory; a bundle holds only oci-layout, index.json and blobs/sha256/<digest>"
	}
	switch {
	case name == layoutFile:
		return name, swrtLayout, ""
	case name == indexFile:
		return name, swrtIndex, ""
	case strings.HasPrefix(name, sha256Dir+"/") && isHex64(name[len(sha256Dir)+1:]):
		return name, swrtBlob, ""
	}
	return "", 0, "unexpected entry; a bundle holds only oci-layout, index.json and blobs/sha256/<digest>"
}

// checkType refuses every entry type but regular files, directories and, if
// symlinks, symbolic links; and sparse files (which we never write).
func checkType(hdr *tar.Header, symlinks bool) string {
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir:
	case tar.TypeSymlink:
		if !symlinks {
			return "symlinks are not allowed"
		}
	case tar.TypeLink:
		return "hard links are not allowed"
	case tar.TypeChar, tar.TypeBlock:
		return "device files are not allowed"
	case tar.TypeFifo:
		return "fifos are not allowed"
	default:
		return fmt.Sprintf("entry type %q is not allowed", hdr.Typeflag)
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return "sparse files are not allowed"
		}
	}
	if hdr.Size < 0 || (hdr.Typeflag != tar.TypeReg && hdr.Size != 0) {
		return fmt.Sprintf("invalid size %d", hdr.Size)
	}
	return ""
}

func readBlob(ctx context.Context, src *tar.Reader, hdr *tar.Header, p, hexd string, buf []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	h := sha256.New()
	w := io.MultiWriter(f, h)
	var n int64
	for n < hdr.Size {
		if err := ctx.Err(); err != nil {
			f.Close()
			return err
		}
		k := int(min(int64(len(buf)), hdr.Size-n))
		m, err := io.ReadFull(src, buf[:k])
		if err != nil {
			f.Close()
			return tarErr(hdr.Name, err)
		}
		if _, err := w.Write(buf[:m]); err != nil {
			f.Close()
			return err
		}
		n += int64(m)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != hexd {
		return &FormatError{Entry: hdr.Name, Reason: "digest mismatch: content is sha256:" + got}
	}
	return nil
}

func parseIndex(data []byte) (ocispec.Descriptor, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return ocispec.Descriptor{}, &FormatError{Entry: indexFile, Reason: "not valid JSON: " + err.Error(), Err: err}
	}
	if idx.SchemaVersion != 2 {
		return ocispec.Descriptor{}, formatErr(indexFile, "schemaVersion is %d, want 2", idx.SchemaVersion)
	}
	if len(idx.Manifests) != 1 {
		return ocispec.Descriptor{}, formatErr(indexFile, "has %d manifests, want exactly one", len(idx.Manifests))
	}
	d := idx.Manifests[0]
	if d.MediaType != ocispec.MediaTypeImageManifest {
		return d, formatErr(indexFile, "manifest mediaType is %q, want %q", d.MediaType, ocispec.MediaTypeImageManifest)
	}
	if err := checkDigest(d.Digest); err != nil {
		return d, formatErr(indexFile, "manifest %v", err)
	}
	if d.Size < 0 || d.Size > maxManifestSize {
		return d, formatErr(indexFile, "manifest size %d is out of range", d.Size)
	}
	return d, nil
}

func checkBlob(sizes map[digest.Digest]int64, d ocispec.Descriptor) error {
	size, ok := sizes[d.Digest]
	if !ok {
		return formatErr(blobName(d.Digest), "blob is missing")
	}
	if size != d.Size {
		return formatErr(blobName(d.Digest), "blob is %d bytes, the manifest says %d", size, d.Size)
	}
	return nil
}

func readBlobFile(blobs map[digest.Digest]string, sizes map[digest.Digest]int64, d ocispec.Descriptor) ([]byte, error) {
	if err := checkBlob(sizes, d); err != nil {
		return nil, err
	}
	if d.Size > maxManifestSize {
		return nil, formatErr(blobName(d.Digest), "is %d bytes, at most %d are allowed", d.Size, maxManifestSize)
	}
	data, err := os.ReadFile(blobs[d.Digest])
	if err != nil {
		return nil, err
	}
	if digest.FromBytes(data) != d.Digest {
		return nil, formatErr(blobName(d.Digest), "blob changed on disk while it was read")
	}
	return data, nil
}

// tarErr turns an error of archive/tar into a *FormatError, except I/O errors
// of the source, which it returns as they are.
func tarErr(entry string, err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &FormatError{Entry: entry, Reason: "truncated input", Err: io.ErrUnexpectedEOF}
	case errors.Is(err, tar.ErrHeader), errors.Is(err, tar.ErrInsecurePath):
		return &FormatError{Entry: entry, Reason: "invalid tar header", Err: err}
	}
	var fe *FormatError
	if errors.As(err, &fe) {
		return err
	}
	if strings.HasPrefix(err.Error(), "archive/tar:") {
		return &FormatError{Entry: entry, Reason: "invalid tar: " + strings.TrimPrefix(err.Error(), "archive/tar: "), Err: err}
	}
	return err
}

// endReader counts the zero bytes at the end of what has been read, to tell a
// tar that ends with its end-of-archive blocks from one cut at an entry
// boundary (archive/tar returns io.EOF for both). It also hides every method
// but Read, so archive/tar never seeks.
type endReader struct {
	r     io.Reader
	zeros int64
}

func (e *endReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	i := n - 1
	for i >= 0 && p[i] == 0 {
		i--
	}
	if i < 0 {
		e.zeros += int64(n)
	} else {
		e.zeros = int64(n - 1 - i)
	}
	return n, err
}

// ended reports whether the tar ended with its end-of-archive blocks.
func (e *endReader) ended() bool { return e.zeros >= 1024 }

var errNoEnd = &FormatError{Reason: "truncated input: the tar has no end-of-archive marker", Err: io.ErrUnexpectedEOF}
