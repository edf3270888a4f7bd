// Package mode defines the environment-mode interface: what a mode plugin
// (venv, conda, and third-party modes such as poetry, uv or pixi) does for the
// host. It owns the plain Go types that cross the plugin boundary; it knows
// nothing about gRPC, processes or bundles.
//
// The contract, which sdk/modetest checks for every implementation:
//
//   - Every method is safe to call from a fresh process: a mode keeps no state
//     between calls other than what it writes under the prefix it is given.
//   - Create makes a new environment at Env.Prefix for the Python of Env.Python.
//     The prefix must not exist or must be empty; Create never marks anything
//     as ready (readiness is the host's business) and on failure removes what it
//     made.
//   - Install installs the dependencies in the order given. Paths in
//     dependencies are relative to Env.Workdir. Pip's (or conda's) output is sent
//     as log events; a failure returns an *Error whose message carries the tool's
//     own error text.
//   - Lock reports every installed distribution at its exact version, with hashes
//     where known and the source (index, VCS URL, local wheel) where it is not an
//     index. It may also return lock files in the tool's own format.
//   - Restore makes an environment at Env.Prefix that holds exactly the lock,
//     using the wheel folders given first and the configured indexes after.
//   - Files lists, for each installed distribution, the files it owns relative to
//     the prefix; everything else under the prefix belongs to the base. The host
//     packs one layer per distribution plus a base layer from this list.
//     An editable (development) install is, by default, listed as it is: the
//     files under the prefix that point at its source tree. When the request
//     sets IncludeEditable, the mode reports each editable distribution as if
//     it were installed normally instead: External names the files of its
//     source tree (outside the prefix) and where under the prefix they belong
//     (e.g. lib/python3.11/site-packages/edpkg/__init__.py), and Drop names the
//     files under the prefix that only point at the source tree (the .pth file,
//     the __editable__ finder module, the .egg-link, direct_url.json) and must
//     not be packed. The host packs External files into the distribution's
//     layer at their Dest and leaves Drop files out, so the restored
//     environment imports the package from its own site-packages. A mode that
//     cannot do it returns no External for the package, and the host refuses
//     the build. A mode that can do it declares Capabilities.IncludeEditable; the
//     host refuses --include-editable for a mode that does not. Without
//     IncludeEditable, External and Drop are empty.
//   - Relocate fixes an environment that was unpacked at Prefix after being
//     built at OldPrefix (shebangs, scripts, metadata), so it runs from its new
//     place with no path of the old one left.
//   - Activation returns the environment variables and the shell code that
//     activate the environment at Prefix for one shell.
package mode

import (
	"context"
	"fmt"

	"github.com/swcli/swcli/core/plugin/base"
)

// ProtocolVersion is the version of the plugin protocol (see core/plugin/base).
const ProtocolVersion = base.ProtocolVersion

// Mode is an environment mode. See the package documentation for the contract.
type Mode interface {
	Info(ctx context.Context) (Info, error)
	Doctor(ctx context.Context, req DoctorRequest) (DoctorReport, error)
	Create(ctx context.Context, req CreateRequest, ev Events) error
	Install(ctx context.Context, req InstallRequest, ev Events) error
	Lock(ctx context.Context, req LockRequest, ev Events) (Lock, error)
	Restore(ctx context.Context, req RestoreRequest, ev Events) error
	Files(ctx context.Context, req FilesRequest) (FilesReport, error)
	Relocate(ctx context.Context, req RelocateRequest, ev Events) error
	Activation(ctx context.Context, req ActivationRequest) (Activation, error)
}

// Info describes a plugin; it is the base Info every plugin kind shares.
type Info = base.Info

// Capabilities are a plugin's declared capabilities; a mode sets Relocate,
// SelfContained and IncludeEditable as it supports them.
type Capabilities = base.Capabilities

// Python selects the interpreter of an environment.
type Python struct {
	// Version is "X.Y".
	Version string `json:"version"`
	// Path is an explicit interpreter; when set it wins over Version lookup.
	Path string `json:"path,omitempty"`
}

// PipConfig is configs.pip of runtime.yaml.
type PipConfig struct {
	IndexURL      string   `json:"index_url,omitempty"`
	ExtraIndexURL []string `json:"extra_index_url,omitempty"`
	TrustedHost   []string `json:"trusted_host,omitempty"`
	// NoIndex forbids any index (offline restore from bundled wheels).
	NoIndex bool `json:"no_index,omitempty"`
	// FindLinks are extra local folders of wheels.
	FindLinks []string `json:"find_links,omitempty"`
}

// CondaConfig is configs.conda of runtime.yaml.
type CondaConfig struct {
	Channels []string `json:"channels,omitempty"`
	// Condarc is the YAML text of a condarc to use.
	Condarc string `json:"condarc,omitempty"`
}

// Env names an environment and how to reach its tools.
type Env struct {
	// Workdir is the runtime's workdir; relative dependency paths resolve here.
	Workdir string `json:"workdir"`
	// Prefix is the environment's root folder (absolute).
	Prefix string      `json:"prefix"`
	Python Python      `json:"python"`
	Pip    PipConfig   `json:"pip"`
	Conda  CondaConfig `json:"conda"`
	// CacheDir is a folder the host gives the mode for caches it keeps
	// across calls (the venv mode's seed of pip wheels); it lives under the
	// host's storage root. Empty: the mode picks its own (the user's cache).
	CacheDir string `json:"cache_dir,omitempty"`
	// StateDir is a folder the host keeps with this environment (outside
	// the prefix: WORKDIR/.starwhale/state/<mode>/), where the mode may
	// remember what it learnt about the environment between calls (the
	// venv mode's pip check memo). What is there is a hint: it may be
	// missing or older than the environment, so the mode checks it against
	// the environment before trusting it. Empty: remember nothing.
	StateDir string `json:"state_dir,omitempty"`
	// LinkMode is how files come out of such caches: "clone", "hardlink",
	// "copy", or "" for the best the filesystem allows (see internal/linkfile).
	LinkMode string `json:"link_mode,omitempty"`
}

// Dependency kinds, in runtime.yaml's order.
const (
	DepPipReq   = "pip_req"   // a requirements file (*.txt, *.in): Path
	DepCondaEnv = "conda_env" // a conda env file (*.yaml, *.yml): Path
	DepPip      = "pip"       // pip requirement strings: Packages
	DepConda    = "conda"     // conda package specs: Packages
	DepWheel    = "wheel"     // local wheel files: Packages are paths
	DepFile     = "file"      // copy Src to Dest (relative to the prefix unless absolute)
	DepCommand  = "command"   // shell command run inside the environment: Command
)

// Dependency is one entry of the ordered dependency list.
type Dependency struct {
	Kind     string   `json:"kind"`
	Path     string   `json:"path,omitempty"`
	Packages []string `json:"packages,omitempty"`
	Src      string   `json:"src,omitempty"`
	Dest     string   `json:"dest,omitempty"`
	Command  string   `json:"command,omitempty"`
}

// DoctorRequest asks a mode whether its tools are present.
type DoctorRequest struct {
	Python Python `json:"python"`
}

// Tool is one tool a mode found or missed.
type Tool struct {
	Name    string `json:"name"`
	Path    string `json:"path,omitempty"`
	Version string `json:"version,omitempty"`
	OK      bool   `json:"ok"`
	Message string `json:"message,omitempty"`
}

// DoctorReport lists the tools a mode needs.
type DoctorReport struct {
	Tools []Tool `json:"tools"`
}

// CreateRequest makes a new environment.
type CreateRequest struct {
	Env Env `json:"env"`
	// Bare asks for the environment without the packages its tool would add
	// itself (venv: --without-pip), because the host is about to unpack env
	// layers that bring them. It makes a fast-path restore fast.
	Bare bool `json:"bare,omitempty"`
}

// InstallRequest installs dependencies into an existing environment.
type InstallRequest struct {
	Env          Env          `json:"env"`
	Dependencies []Dependency `json:"dependencies"`
}

// LockRequest asks for the lock of an environment.
type LockRequest struct {
	Env Env `json:"env"`
	// Check asks the mode to verify first that the installed distributions
	// are consistent (pip check, and the tool's own check); conflicts fail
	// with an *Error of code ErrConflict whose message names them.
	Check bool `json:"check,omitempty"`
}

// Installers of a locked package.
const (
	InstallerPip   = "pip"
	InstallerConda = "conda"
)

// LockedPackage is one installed distribution at its exact version.
type LockedPackage struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Installer string `json:"installer"`
	// Source is empty for an index; otherwise a VCS URL ("git+https://...@rev"),
	// a local wheel file name ("wheels/foo-1.0-py3-none-any.whl"), a URL, or a
	// conda package URL.
	Source string   `json:"source,omitempty"`
	Hashes []string `json:"hashes,omitempty"` // "sha256:..."
	// Editable is true for editable (development) installs.
	Editable bool `json:"editable,omitempty"`
}

// LockFile is a lock in a tool's own format (requirements-lock.txt,
// conda explicit spec), stored in the bundle snapshot and in
// WORKDIR/.starwhale/lock/.
type LockFile struct {
	Name    string `json:"name"`
	Content []byte `json:"content"`
}

// Lock is the exact content of an environment.
type Lock struct {
	Python   string          `json:"python"` // exact "X.Y.Z"
	Packages []LockedPackage `json:"packages"`
	Files    []LockFile      `json:"files,omitempty"`
}

// RestoreRequest makes an environment holding exactly a lock.
type RestoreRequest struct {
	Env  Env  `json:"env"`
	Lock Lock `json:"lock"`
	// WheelDirs are local folders of wheels to install from first.
	WheelDirs []string `json:"wheel_dirs,omitempty"`
}

// FilesRequest lists the files of each installed distribution.
type FilesRequest struct {
	Env Env `json:"env"`
	// IncludeEditable asks for editable installs as regular files: with
	// External and Drop filled in (see the package documentation).
	IncludeEditable bool `json:"include_editable,omitempty"`
}

// PackageFiles is the files one distribution owns, relative to the prefix,
// slash-separated.
type PackageFiles struct {
	Name      string   `json:"name"`
	Version   string   `json:"version"`
	Installer string   `json:"installer"`
	Files     []string `json:"files"`
	// External are files from outside the prefix that belong to this
	// distribution's layer (the source tree of an editable install, only
	// when FilesRequest.IncludeEditable is set).
	External []ExternalFile `json:"external,omitempty"`
	// Drop are files under the prefix (prefix-relative, slash-separated) that
	// must not be packed at all: what points an editable install at its
	// source tree. Only when FilesRequest.IncludeEditable is set.
	Drop []string `json:"drop,omitempty"`
}

// ExternalFile is a file packed from outside the prefix.
type ExternalFile struct {
	// Src is the absolute path of a regular file outside the prefix.
	Src string `json:"src"`
	// Dest is where it goes, relative to the prefix, slash-separated.
	Dest string `json:"dest"`
}

// FilesReport lists the distributions' files. Exclude names paths (relative,
// slash-separated, may end in "/" for folders) that must not be packed at all,
// because Relocate or Create regenerates them on the target.
type FilesReport struct {
	Packages []PackageFiles `json:"packages"`
	Exclude  []string       `json:"exclude,omitempty"`
	// Python is the environment's exact "X.Y.Z"; Platform is like
	// "linux-x86_64"; ABI like "cp39".
	Python   string `json:"python"`
	Platform string `json:"platform"`
	ABI      string `json:"abi,omitempty"`
}

// Placeholders the host writes, at pack time, into text files in place of
// absolute paths of the build machine, so that a bundle does not depend on
// where it was built. Relocate replaces them with the new paths.
const (
	// PrefixPlaceholder stands for the environment's prefix.
	PrefixPlaceholder = "/__swcli_prefix_placeholder__"
	// WorkdirPlaceholder stands for the runtime's workdir (local wheels and
	// files referenced from direct_url.json and the like).
	WorkdirPlaceholder = "/__swcli_workdir_placeholder__"
)

// RelocateRequest fixes an environment whose files were unpacked at
// Env.Prefix after being built elsewhere.
type RelocateRequest struct {
	Env Env `json:"env"`
	// TextFiles (relative to the prefix) hold PrefixPlaceholder and/or
	// WorkdirPlaceholder where the build machine's paths were; replace them
	// with Env.Prefix and Env.Workdir.
	TextFiles []string `json:"text_files,omitempty"`
	// BinaryFiles (relative to the prefix) still hold OldPrefix inside binary
	// content; a mode that supports it replaces it with Env.Prefix padded with
	// NUL bytes to the same length, and fails with ErrPrefixTooLong when the new
	// prefix is longer.
	BinaryFiles []string `json:"binary_files,omitempty"`
	OldPrefix   string   `json:"old_prefix,omitempty"`
}

// Shells the Activation call supports.
var Shells = []string{"bash", "zsh", "fish", "sh"}

// ActivationRequest asks for the activation of the environment at Env.Prefix.
type ActivationRequest struct {
	Env   Env    `json:"env"`
	Shell string `json:"shell"`
	// Name is shown in the prompt.
	Name string `json:"name"`
}

// EnvVar is one variable to set. Value may reference the old value as
// ${NAME} (e.g. PATH=/prefix/bin:${PATH}); the host expands it.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Activation is how to activate an environment.
type Activation struct {
	Vars  []EnvVar `json:"vars"`
	Unset []string `json:"unset,omitempty"`
	// Script is shell code for eval in the requested shell.
	Script string `json:"script"`
	// ScriptRequired says Vars alone do not activate the environment: the
	// script does more (conda's activate.d scripts), so the host runs
	// commands through it (sh) instead of only setting Vars.
	ScriptRequired bool `json:"script_required,omitempty"`
}

// Event is progress or a log line streamed back during a long call.
type Event struct {
	// Level is "trace", "debug", "info", "warn" or "error" for a log line; empty
	// for progress.
	Level   string `json:"level,omitempty"`
	Message string `json:"message,omitempty"`
	// Stage names the step ("create", "install", "download ...").
	Stage   string `json:"stage,omitempty"`
	Current int64  `json:"current,omitempty"`
	Total   int64  `json:"total,omitempty"`
}

// Events receives events. It may be nil: use Emit.
type Events func(Event)

// Emit sends e to ev if ev is not nil.
func (ev Events) Emit(e Event) {
	if ev != nil {
		ev(e)
	}
}

// Logf sends a log line.
func (ev Events) Logf(level, format string, args ...any) {
	ev.Emit(Event{Level: level, Message: fmt.Sprintf(format, args...)})
}

// Error codes a mode returns in *Error.
const (
	ErrNoTool        = "no_tool"     // a needed tool (python X.Y, conda) is missing
	ErrInvalid       = "invalid"     // a bad request (bad dependency, bad path)
	ErrToolFailed    = "tool_failed" // pip/conda failed; Message has its output
	ErrUnsupported   = "unsupported" // the mode cannot do this (shell, platform)
	ErrInternal      = "internal"
	ErrPrefixTooLong = "prefix_too_long" // relocation cannot fit the new prefix
	ErrConflict      = "conflict"        // installed distributions are inconsistent (pip check)
)

// Error is a typed error that crosses the plugin boundary intact.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Detail is extra output (a tool's stderr tail), shown with --verbose.
	Detail string `json:"detail,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// Errorf makes an *Error.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
