package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"

	goyaml "github.com/goccy/go-yaml"
	goyamlparser "github.com/goccy/go-yaml/parser"
	"gopkg.in/yaml.v3"

	"github.com/swcli/swcli/core/mode"
)

// FileName is the name of the spec file in a workdir.
const FileName = "runtime.yaml"

// Modes and defaults.
const (
	ModeVenv  = "venv"
	ModeConda = "conda"

	DefaultMode   = ModeVenv
	DefaultPython = "3.8"
	// DefaultPipReq is the requirements file used when runtime.yaml names
	// none and has no dependencies list; it may be absent.
	DefaultPipReq = "requirements.txt"
)

// Modes lists the modes swcli ships. A runtime.yaml may also name the mode
// of an installed plugin (`swcli plugin install`): any name ValidMode
// accepts; whether a plugin serves it is checked when the mode is used.
var Modes = []string{ModeVenv, ModeConda}

// ModeRule says what a mode name may look like.
const ModeRule = "allowed: " + ModeVenv + ", " + ModeConda + ", or the name of an installed mode plugin (a lowercase letter, then up to 31 lowercase letters, digits, '-' or '_')"

var modeRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// ValidMode reports whether m can name a mode: venv, conda or a plugin's.
func ValidMode(m string) bool { return modeRE.MatchString(m) }

// Arches lists the values environment.arch may hold. x86_64 and aarch64 are
// accepted in runtime.yaml and read as amd64 and arm64.
var Arches = []string{"noarch", "amd64", "arm64"}

// Spec is a runtime.yaml of either form, with defaults applied.
type Spec struct {
	Name string `json:"name"`
	// Mode is "venv", "conda" or the name of a mode plugin.
	Mode string `json:"mode"`
	// Python is the effective "X.Y": python_version, else environment.python,
	// else DefaultPython.
	Python           string `json:"python"`
	StarwhaleVersion string `json:"starwhale_version,omitempty"`
	APIVersion       string `json:"api_version,omitempty"`

	Environment Environment `json:"environment"`

	// Dependencies in install order. pip_req, when explicitly given or when
	// there is no dependencies list, is the first one.
	Dependencies []mode.Dependency `json:"dependencies"`
	// DefaultPipReq is true when Dependencies[0] is the implicit
	// requirements.txt (neither pip_req nor dependencies was written). That
	// file is optional: Check skips it when it is absent and Resolve drops it.
	DefaultPipReq bool `json:"default_pip_req,omitempty"`

	Pip   mode.PipConfig   `json:"pip"`
	Conda mode.CondaConfig `json:"conda"`

	// file and pos remember where things came from, for Check's errors.
	file string
	pos  []depPos // parallel to Dependencies when set by Parse
}

// Environment is the environment section of the extended form.
type Environment struct {
	// Python is environment.python as written ("" if absent); Spec.Python is
	// the effective version.
	Python string `json:"python,omitempty"`
	// Arch is one or more of Arches.
	Arch   []string `json:"arch,omitempty"`
	OS     string   `json:"os,omitempty"`
	CUDA   string   `json:"cuda,omitempty"`
	CUDNN  string   `json:"cudnn,omitempty"`
	Docker Docker   `json:"docker"`
}

// Docker is environment.docker.
type Docker struct {
	Image string `json:"image,omitempty"`
}

// position is a place in runtime.yaml.
type position struct {
	field     string
	line, col int
}

// depPos is where one dependency came from; items holds the place of each
// wheel of a wheel dependency.
type depPos struct {
	position
	items []position
}

// File returns the runtime.yaml name the spec was parsed from.
func (s *Spec) File() string { return s.file }

// Load reads and parses the runtime.yaml at path. Errors name path.
func Load(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var msg string
		switch {
		case errors.Is(err, fs.ErrNotExist):
			msg = "does not exist; a workdir needs a " + FileName + " (swcli runtime create makes one)"
		default:
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			msg = "cannot read: " + err.Error()
		}
		return nil, &Error{File: path, Msg: msg}
	}
	return Parse(data, path)
}

// Parse parses runtime.yaml content; filename is used in errors. It never
// panics. Every error is an *Error.
func Parse(data []byte, filename string) (s *Spec, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, &Error{File: filename, Msg: fmt.Sprintf("invalid YAML: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, &Error{File: filename, Line: 1, Col: 1, Msg: "empty file; expected a map with at least name (e.g. name: mnist)"}
		}
		return nil, withColumn(syntaxError(filename, err), data)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			return nil, syntaxError(filename, err)
		}
		return nil, &Error{File: filename, Line: extra.Line, Col: extra.Column, Msg: "a second YAML document; allowed: one document"}
	}
	p := &parser{file: filename}
	return p.spec(&doc)
}

var yamlLineRE = regexp.MustCompile(`line (\d+): (.*)`)

// syntaxError turns a yaml.v3 error ("yaml: line 3: mapping values are not
// allowed in this context") into file:line form.
func syntaxError(file string, err error) *Error {
	msg := oneLine(err.Error())
	msg = strings.TrimPrefix(msg, "yaml: ")
	e := &Error{File: file}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil {
			e.Line = n
			msg = m[2]
		}
	}
	// yaml.v3 reports parser (not scanner) errors with a 0-based line, and
	// with no line at all when it is the first one.
	if parserProblems[msg] {
		e.Line++
	}
	e.Msg = "invalid YAML: " + msg
	return e
}

// withColumn adds the column of a syntax error, which yaml.v3 does not
// report, from goccy/go-yaml's parser when it finds a problem on the same
// line.
func withColumn(e *Error, data []byte) *Error {
	if e.Col != 0 || e.Line == 0 {
		return e
	}
	_, err := goyamlparser.ParseBytes(data, 0)
	var se *goyaml.SyntaxError
	if errors.As(err, &se) && se.Token != nil && se.Token.Position != nil && se.Token.Position.Line == e.Line {
		e.Col = se.Token.Position.Column
	}
	if e.Col == 0 {
		// The problem is somewhere on the line; point at its first character.
		lines := bytes.Split(data, []byte("\n"))
		e.Col = 1
		if e.Line-1 < len(lines) {
			e.Col = len(lines[e.Line-1]) - len(bytes.TrimLeft(lines[e.Line-1], " \t")) + 1
		}
	}
	return e
}

// parserProblems are the messages of libyaml's parser (parserc.go), whose
// line yaml.v3 leaves 0-based.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}
