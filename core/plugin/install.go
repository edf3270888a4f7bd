package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"gopkg.in/yaml.v3"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/internal/atomicfile"
)

// NameRule says what a plugin name installed by `swcli plugin install` may
// look like; it is also what runtime.yaml accepts as a mode name.
const NameRule = "a plugin name is a lowercase letter, then up to 31 lowercase letters, digits, '-' or '_'"

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// ValidName reports whether name follows NameRule.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// InstallOptions are the inputs of `swcli plugin install`.
type InstallOptions struct {
	// Path is the plugin binary.
	Path string
	// Name, when set, replaces the name the plugin gives in its Info.
	Name string
	// Force allows a name that a built-in plugin has (the user's entry then
	// wins over the built-in one).
	Force bool
	// File is the plugins.yaml to write; empty means UserFile().
	File string
	// Builtin is the plugins.yaml of the built-in plugins; empty means
	// BuiltinFile().
	Builtin string
	Logger  hclog.Logger
	// ProbeTimeout bounds the handshake of the binary being installed (a
	// program that is not a plugin may never answer); zero means
	// DefaultProbeTimeout.
	ProbeTimeout time.Duration
}

// InstallResult says what was installed.
type InstallResult struct {
	Name         string   `json:"name"`
	Kind         string   `json:"kind"`
	Version      string   `json:"version"`
	Path         string   `json:"path"`
	SHA256       string   `json:"sha256"`
	File         string   `json:"file"`
	Replaced     bool     `json:"replaced"`
	Protocol     []int    `json:"protocol_versions"`
	Capabilities []string `json:"capabilities,omitempty"`
}

// NotPluginError says a file is not a swcli plugin.
type NotPluginError struct {
	Path   string
	Reason string
}

func (e *NotPluginError) Error() string {
	return fmt.Sprintf("%s is not a swcli plugin: %s", e.Path, e.Reason)
}

// InstallError is a refused install (bad kind, bad name, name clash).
type InstallError struct{ Msg string }

func (e *InstallError) Error() string { return e.Msg }

// DefaultProbeTimeout bounds the handshake of a binary being installed when
// InstallOptions.ProbeTimeout is zero.
const DefaultProbeTimeout = 15 * time.Second

// Install runs the binary at o.Path as a plugin (through a Host, without a
// checksum), asks its Info, and adds or replaces its entry in the user's
// plugins.yaml with the binary's absolute path and sha256.
func Install(ctx context.Context, o InstallOptions) (*InstallResult, error) {
	abs, err := filepath.Abs(o.Path)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	switch {
	case err != nil:
		return nil, &NotPluginError{Path: o.Path, Reason: "no such file"}
	case st.IsDir() || st.Mode()&0o111 == 0:
		return nil, &NotPluginError{Path: o.Path, Reason: "not an executable file"}
	}
	if o.Name != "" && !ValidName(o.Name) {
		return nil, &InstallError{Msg: fmt.Sprintf("--name %q is not a valid plugin name; %s", o.Name, NameRule)}
	}
	sum, err := FileSHA256(abs)
	if err != nil {
		return nil, err
	}
	info, err := probe(ctx, abs, o.Logger, o.ProbeTimeout)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(Kinds, info.Kind) {
		return nil, &InstallError{Msg: fmt.Sprintf("%s says it is a %q plugin; swcli installs only %s plugins", o.Path, info.Kind, strings.Join(Kinds, " and "))}
	}
	name := o.Name
	if name == "" {
		name = info.Name
		if !ValidName(name) {
			return nil, &InstallError{Msg: fmt.Sprintf("%s calls itself %q, which is not a valid plugin name (%s); pass --name", o.Path, name, NameRule)}
		}
	}
	builtin := o.Builtin
	if builtin == "" {
		builtin = BuiltinFile()
	}
	if bs, err := ReadFile(builtin); err == nil && !o.Force {
		for _, b := range bs {
			if b.Name == name {
				return nil, &InstallError{Msg: fmt.Sprintf("%q is the name of a built-in %s plugin (%s); pass --name to install under another name, or --force to replace it for this user", name, b.Kind, builtin)}
			}
		}
	}

	file := o.File
	if file == "" {
		file = UserFile()
	}
	entries, err := readUserFile(file)
	if err != nil {
		return nil, err
	}
	e := Entry{Name: name, Kind: info.Kind, Command: abs, SHA256: sum}
	res := &InstallResult{Name: name, Kind: info.Kind, Version: info.Version, Path: abs, SHA256: sum, File: file,
		Protocol: info.ProtocolVersions, Capabilities: info.Capabilities.Names()}
	if i := slices.IndexFunc(entries, func(x Entry) bool { return x.Name == name }); i >= 0 {
		entries[i], res.Replaced = e, true
	} else {
		entries = append(entries, e)
	}
	if err := writeUserFile(file, entries); err != nil {
		return nil, err
	}
	return res, nil
}

// probe launches the binary through a Host, with no checksum, and returns
// its Info.
func probe(ctx context.Context, path string, logger hclog.Logger, timeout time.Duration) (mode.Info, error) {
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	name := filepath.Base(path)
	cat := &Catalog{entries: map[string]Entry{name: {Name: name, Path: path, Command: path}}}
	h := NewHost(cat, logger)
	h.StartTimeout = timeout
	defer h.Close()
	info, _, err := h.Info(ctx, name)
	var le *LaunchError
	if errors.As(err, &le) && le.Handshake {
		reason := strings.TrimSpace(le.Err.Error())
		if i := strings.IndexByte(reason, '\n'); i >= 0 {
			reason = reason[:i]
		}
		return info, &NotPluginError{Path: path, Reason: "the plugin handshake failed (" + reason + ")"}
	}
	return info, err
}

// RemoveResult says what was removed.
type RemoveResult struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Path    string `json:"path"`
	File    string `json:"file"`
	Removed bool   `json:"removed"`
}

// Remove removes the plugin name from the user's plugins.yaml (file; empty
// means UserFile()). Built-in plugins cannot be removed.
func Remove(name, file string) (*RemoveResult, error) {
	if file == "" {
		file = UserFile()
	}
	entries, err := readUserFile(file)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(entries, func(x Entry) bool { return x.Name == name })
	if i < 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name)
		}
		known := "none"
		if len(names) > 0 {
			known = strings.Join(names, ", ")
		}
		msg := fmt.Sprintf("no plugin named %q in %s (installed there: %s)", name, file, known)
		if bs, err := ReadFile(BuiltinFile()); err == nil && slices.ContainsFunc(bs, func(b Entry) bool { return b.Name == name }) {
			msg += "; " + name + " is built in and cannot be removed"
		}
		return nil, &InstallError{Msg: msg}
	}
	e := entries[i]
	if err := writeUserFile(file, slices.Delete(entries, i, i+1)); err != nil {
		return nil, err
	}
	return &RemoveResult{Name: name, Kind: e.Kind, Path: e.Path, File: file, Removed: true}, nil
}

// readUserFile reads a plugins.yaml for rewriting; a missing file is empty.
func readUserFile(file string) ([]Entry, error) {
	entries, err := ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return entries, err
}

// writeUserFile writes entries (as written, not resolved) atomically.
func writeUserFile(file string, entries []Entry) error {
	if entries == nil {
		entries = []Entry{}
	}
	var b bytes.Buffer
	b.WriteString("# Plugins installed with `swcli plugin install` (and removed with `swcli plugin remove`).\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&File{Plugins: entries}); err != nil {
		return err
	}
	return atomicfile.Write(file, b.Bytes(), 0o644)
}
