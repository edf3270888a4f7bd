package bundle

import (
	"fmt"
	"strings"
)

// FormatError says a bundle or a layer is malformed or hostile: an entry that is
// not allowed, a digest or size that does not match, a limit exceeded, a
// truncated stream. Entry is the tar entry (or blob digest) at fault, empty when
// the fault is in the stream as a whole. Err is the underlying error, if any
// (io.ErrUnexpectedEOF for truncated input).
type FormatError struct {
	Entry  string
	Reason string
	Err    error
}

func (e *FormatError) Error() string {
	if e.Entry == "" {
		return "bundle: " + oneLine(e.Reason)
	}
	return fmt.Sprintf("bundle: entry %q: %s", e.Entry, oneLine(e.Reason))
}

func (e *FormatError) Unwrap() error { return e.Err }

// FileError says a file given to PackLayer cannot be packed (a socket, a device,
// a fifo, a symlink whose target leaves the root, a file that changed while it
// was read). Path is the file's path on disk.
type FileError struct {
	Path   string
	Reason string
	Err    error
}

func (e *FileError) Error() string {
	return fmt.Sprintf("bundle: %s: %s", e.Path, oneLine(e.Reason))
}

func (e *FileError) Unwrap() error { return e.Err }

func formatErr(entry, format string, args ...any) *FormatError {
	return &FormatError{Entry: entry, Reason: fmt.Sprintf(format, args...)}
}

// oneLine keeps messages built from hostile input on one line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}
