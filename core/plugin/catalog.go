package plugin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// FileName is the name of a plugin list.
const FileName = "plugins.yaml"

// Entry is one plugin in a plugins.yaml.
type Entry struct {
	Name    string `yaml:"name" json:"name"`
	Kind    string `yaml:"kind" json:"kind"`
	Command string `yaml:"command,omitempty" json:"command"`
	// Args are extra arguments for the command.
	Args   []string `yaml:"args,omitempty" json:"args,omitempty"`
	SHA256 string   `yaml:"sha256,omitempty" json:"sha256,omitempty"`
	// Package is the Go main package that builds the plugin (the repository's
	// own plugins.yaml only).
	Package string `yaml:"package,omitempty" json:"package,omitempty"`

	// Path is Command resolved against the folder of Source.
	Path string `yaml:"-" json:"path"`
	// Source is the plugins.yaml file that listed the plugin.
	Source string `yaml:"-" json:"source"`
}

// File is a plugins.yaml.
type File struct {
	Plugins []Entry `yaml:"plugins"`
}

// Catalog is the plugins known to the host, by name. A plugin listed in a
// later file replaces one of the same name from an earlier file.
type Catalog struct {
	entries map[string]Entry
	Sources []string
}

// FileError is a problem with a plugins.yaml.
type FileError struct {
	File string
	Line int
	Msg  string
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Kinds of plugin.
var Kinds = []string{"mode", "store"}

// ReadFile parses one plugins.yaml strictly and resolves commands against its
// folder.
func ReadFile(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(path)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, decodeError(path, err)
	}
	var node yaml.Node
	_ = yaml.Unmarshal(data, &node)
	seen := map[string]bool{}
	for i := range f.Plugins {
		e := &f.Plugins[i]
		line := entryLine(&node, i)
		switch {
		case e.Name == "":
			return nil, &FileError{File: path, Line: line, Msg: "plugin without a name"}
		case seen[e.Name]:
			return nil, &FileError{File: path, Line: line, Msg: fmt.Sprintf("plugin %q listed twice", e.Name)}
		case e.Kind != "mode" && e.Kind != "store":
			return nil, &FileError{File: path, Line: line, Msg: fmt.Sprintf("plugin %q: kind %q is not a kind; allowed: mode, store", e.Name, e.Kind)}
		case e.SHA256 != "" && !isHex64(e.SHA256):
			return nil, &FileError{File: path, Line: line, Msg: fmt.Sprintf("plugin %q: sha256 must be 64 hex characters", e.Name)}
		}
		seen[e.Name] = true
		e.Source = abs
		if e.Command != "" {
			e.Path = e.Command
			if !filepath.IsAbs(e.Path) {
				e.Path = filepath.Join(filepath.Dir(abs), e.Command)
			}
		}
	}
	return f.Plugins, nil
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// decodeError turns a yaml.v3 error (which may span lines) into a one-line
// *FileError with the line of the first problem.
func decodeError(path string, err error) *FileError {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = strings.TrimSpace(te.Errors[0])
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	fe := &FileError{File: path, Msg: msg}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		fe.Line, _ = strconv.Atoi(m[1])
		fe.Msg = m[2]
	}
	if strings.HasPrefix(fe.Msg, "field ") && strings.Contains(fe.Msg, " not found in type ") {
		fe.Msg = strings.Fields(fe.Msg)[1] + ": unknown key; allowed: name, kind, command, args, sha256, package"
	}
	fe.Msg = strings.Join(strings.Fields(fe.Msg), " ")
	return fe
}

func entryLine(n *yaml.Node, i int) int {
	if n == nil || len(n.Content) == 0 {
		return 0
	}
	doc := n.Content[0]
	for k := 0; k+1 < len(doc.Content); k += 2 {
		if doc.Content[k].Value == "plugins" && doc.Content[k+1].Kind == yaml.SequenceNode {
			if i < len(doc.Content[k+1].Content) {
				return doc.Content[k+1].Content[i].Line
			}
		}
	}
	return 0
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// DefaultSources lists, in order, the plugins.yaml files the host reads: the
// one beside the swcli binary, the user's (beside the CLI config), and those
// named by SW_PLUGINS (separated by the OS list separator).
func DefaultSources() []string {
	var out []string
	if b := BuiltinFile(); b != "" {
		out = append(out, b)
	}
	out = append(out, UserFile())
	if v := os.Getenv("SW_PLUGINS"); v != "" {
		for _, p := range filepath.SplitList(v) {
			if p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// BuiltinFile is the plugins.yaml beside the swcli binary (written by the
// build): the plugins it lists are the built-in ones.
func BuiltinFile() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	return filepath.Join(filepath.Dir(exe), FileName)
}

// UserFile is the user's plugins.yaml, beside the CLI config
// (SW_CLI_CONFIG or ~/.config/starwhale/config.yaml).
func UserFile() string {
	if c := os.Getenv("SW_CLI_CONFIG"); c != "" {
		return filepath.Join(filepath.Dir(c), FileName)
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".config", "starwhale", FileName)
}

// Load reads the given plugins.yaml files; missing files are skipped, except
// those named by SW_PLUGINS, which must exist.
func Load(sources []string) (*Catalog, error) {
	c := &Catalog{entries: map[string]Entry{}}
	explicit := map[string]bool{}
	for _, p := range filepath.SplitList(os.Getenv("SW_PLUGINS")) {
		explicit[p] = true
	}
	for _, src := range sources {
		es, err := ReadFile(src)
		if errors.Is(err, fs.ErrNotExist) {
			if explicit[src] {
				return nil, &FileError{File: src, Msg: "no such file (named by SW_PLUGINS)"}
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		c.Sources = append(c.Sources, src)
		for _, e := range es {
			c.entries[e.Name] = e
		}
	}
	return c, nil
}

// Entries lists the plugins sorted by kind and name.
func (c *Catalog) Entries() []Entry {
	out := make([]Entry, 0, len(c.entries))
	for _, e := range c.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Lookup finds a plugin by name and kind.
func (c *Catalog) Lookup(name, kind string) (Entry, error) {
	e, ok := c.entries[name]
	if !ok || (kind != "" && e.Kind != kind) {
		var known []string
		for _, x := range c.Entries() {
			if kind == "" || x.Kind == kind {
				known = append(known, x.Name)
			}
		}
		return Entry{}, &NotFoundError{Name: name, Kind: kind, Known: known, Sources: c.Sources}
	}
	return e, nil
}

// NotFoundError says no plugin of that name and kind is listed.
type NotFoundError struct {
	Name, Kind string
	Known      []string
	Sources    []string
}

func (e *NotFoundError) Error() string {
	what := "plugin"
	if e.Kind != "" {
		what = e.Kind + " plugin"
	}
	known := "none"
	if len(e.Known) > 0 {
		known = strings.Join(e.Known, ", ")
	}
	msg := fmt.Sprintf("no %s named %q; known: %s", what, e.Name, known)
	if len(e.Sources) == 0 {
		msg += " (no plugins.yaml found: run `make build`, or set SW_PLUGINS)"
	}
	return msg
}
