package instance

import (
	"fmt"
	"strings"
)

// UnsupportedError says a place cannot do an operation (a bundle file has no
// tags, no trash and no garbage to collect).
type UnsupportedError struct {
	Place string // the place, as its URI reads
	Op    string // "tag", "remove", ...
	Why   string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s: cannot %s: %s", e.Place, e.Op, e.Why)
}

// UnavailableError says a URI names a kind of instance this build of swcli
// cannot talk to yet. It is a refusal, not a failure of the instance.
type UnavailableError struct {
	Instance string // as given: an alias, cloud://alias, http(s)://host:port, oci://...
	Kind     string // "cloud", "oci"
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("instance %s: %s instances are not available yet in this swcli; only the local instance and .swrt files (copy through a .swrt file for now)", e.Instance, e.Kind)
}

// ExistsError says a bundle file to be written exists already.
type ExistsError struct{ Path string }

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s exists; pass --force to overwrite it", e.Path)
}

// BadFileError says a bundle file cannot be used as a place (a folder, a
// missing parent folder, a file that does not open).
type BadFileError struct {
	Path string
	Msg  string
}

func (e *BadFileError) Error() string { return fmt.Sprintf("%s: %s", e.Path, e.Msg) }

// UnknownAliasError says a URI names an instance alias the CLI config does
// not know.
type UnknownAliasError struct {
	Alias string
	Known []string
}

func (e *UnknownAliasError) Error() string {
	return fmt.Sprintf("instance %s is not known (log in to it first: swcli instance login); known instances: %s", e.Alias, strings.Join(e.Known, ", "))
}
