package spec

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/swcli/swcli/core/mode"
)

// The keys each map of runtime.yaml allows, in the order error messages list
// them.
var (
	topKeys         = []string{"mode", "name", "pip_req", "python_version", "starwhale_version", "api_version", "environment", "dependencies", "configs"}
	environmentKeys = []string{"python", "arch", "os", "cuda", "cudnn", "docker"}
	dockerKeys      = []string{"image"}
	configsKeys     = []string{"pip", "conda", "docker"}
	pipKeys         = []string{"index_url", "extra_index_url", "trusted_host"}
	condaKeys       = []string{"channels", "condarc"}
	depKeys         = []string{"pip", "conda", "wheels", "files", "commands"}
	fileKeys        = []string{"src", "dest"}
)

// depItem names what each dependency list holds.
var depItem = map[string]string{
	"pip":      "pip requirement (e.g. numpy==1.26)",
	"conda":    "conda package spec",
	"wheels":   "path of a *.whl file",
	"files":    "{src, dest} map",
	"commands": "shell command",
}

const depShapes = "allowed: a requirements file (*.txt, *.in), a conda env file (*.yaml, *.yml), or a map with one key: pip, conda, wheels, files, commands"

// parser walks the yaml.Node tree of one runtime.yaml.
type parser struct {
	file string
	// configs.docker.image, Starwhale's older place for the base image;
	// merged into environment.docker.image once the whole file is read.
	cfgDockerImage string
	cfgDockerNode  *yaml.Node
}

func (p *parser) errAt(n *yaml.Node, field, format string, args ...any) *Error {
	e := &Error{File: p.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	return e
}

func (p *parser) pos(n *yaml.Node, field string) position {
	return position{field: field, line: n.Line, col: n.Column}
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func index(parent string, i int) string { return fmt.Sprintf("%s[%d]", parent, i) }

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// what describes a node's type for "expected X, got Y" messages.
func what(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "no value"
		case "!!bool":
			return "a boolean (" + n.Value + ")"
		case "!!int", "!!float":
			return "a number (" + n.Value + ")"
		case "!!str":
			return fmt.Sprintf("a string (%q)", n.Value)
		default:
			return "a value tagged " + n.ShortTag()
		}
	case yaml.DocumentNode:
		return "a document"
	}
	return "an unknown node"
}

// str reads a scalar as its raw text. Strings, numbers and timestamps are
// taken as written (so 3.10 stays "3.10"); null, booleans, other tags, maps
// and lists are errors.
func (p *parser) str(n *yaml.Node, field string) (string, error) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str", "!!int", "!!float", "!!timestamp":
			return n.Value, nil
		}
	}
	return "", p.errAt(n, field, "expected a string, got %s", what(n))
}

// nonEmpty reads a scalar that must not be empty or blank.
func (p *parser) nonEmpty(n *yaml.Node, field string) (string, error) {
	v, err := p.str(n, field)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(v) == "" {
		return "", p.errAt(deref(n), field, "empty string; expected a value")
	}
	return v, nil
}

// strList reads a list of non-empty strings; a null is an empty list. With
// single, a lone string is a list of one.
func (p *parser) strList(n *yaml.Node, field string, single bool) ([]string, error) {
	n = deref(n)
	if single && n.Kind == yaml.ScalarNode && !isNull(n) {
		v, err := p.nonEmpty(n, field)
		if err != nil {
			return nil, err
		}
		return []string{v}, nil
	}
	items, err := p.list(n, field, single)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, it := range items {
		v, err := p.nonEmpty(it, index(field, i))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// list returns the items of a sequence; a null is an empty list.
func (p *parser) list(n *yaml.Node, field string, orString bool) ([]*yaml.Node, error) {
	n = deref(n)
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		exp := "a list"
		if orString {
			exp = "a string or a list of strings"
		}
		return nil, p.errAt(n, field, "expected %s, got %s", exp, what(n))
	}
	return n.Content, nil
}

// mapping checks that n is a map (a null is an empty one) with string keys
// among allowed, each at most once, and calls fn for each pair in document
// order.
func (p *parser) mapping(n *yaml.Node, field string, allowed []string, fn func(key string, k, v *yaml.Node) error) error {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		exp := "a map with keys " + strings.Join(allowed, ", ")
		return p.errAt(n, field, "expected %s, got %s", exp, what(n))
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return p.errAt(k, field, "a key that is %s; allowed keys: %s", what(k), strings.Join(allowed, ", "))
		}
		if k.ShortTag() == "!!merge" {
			return p.errAt(k, field, "merge keys (<<) are not supported; allowed keys: %s", strings.Join(allowed, ", "))
		}
		key := k.Value
		kf := join(field, key)
		if !slices.Contains(allowed, key) {
			return p.errAt(k, kf, "unknown key; allowed: %s", strings.Join(allowed, ", "))
		}
		if prev, dup := seen[key]; dup {
			return p.errAt(k, kf, "given twice (first at line %d); allowed: once", prev.Line)
		}
		seen[key] = k
		if err := fn(key, k, v); err != nil {
			return err
		}
	}
	return nil
}

// spec walks the document.
func (p *parser) spec(doc *yaml.Node) (*Spec, error) {
	root := doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = deref(doc.Content[0])
	}
	if root.Kind == yaml.DocumentNode || isNull(root) {
		return nil, &Error{File: p.file, Line: 1, Col: 1, Msg: "empty file; expected a map with at least name (e.g. name: mnist)"}
	}
	if root.Kind != yaml.MappingNode {
		return nil, p.errAt(root, "", "expected a map of runtime.yaml keys (%s), got %s", strings.Join(topKeys, ", "), what(root))
	}

	s := &Spec{file: p.file}
	var (
		nameSet                   bool
		pipReq                    string
		pipReqNode, pyNode, envPy *yaml.Node
		deps                      []mode.Dependency
		pos                       []depPos
		hasDeps                   bool
	)
	err := p.mapping(root, "", topKeys, func(key string, k, v *yaml.Node) error {
		var err error
		switch key {
		case "mode":
			var m string
			if m, err = p.str(v, key); err != nil {
				return err
			}
			if !ValidMode(m) {
				return p.errAt(deref(v), key, "%q is not a mode; %s", m, ModeRule)
			}
			s.Mode = m
		case "name":
			if s.Name, err = p.str(v, key); err != nil {
				return err
			}
			if err := ValidateName(s.Name); err != nil {
				return p.errAt(deref(v), key, "%s", err.(*Error).Msg)
			}
			nameSet = true
		case "pip_req":
			if pipReq, err = p.str(v, key); err != nil {
				return err
			}
			if msg := checkRelPath(pipReq); msg != "" {
				return p.errAt(deref(v), key, "%q %s", pipReq, msg)
			}
			pipReqNode = deref(v)
		case "python_version":
			if s.Python, err = p.python(v, key); err != nil {
				return err
			}
			pyNode = deref(v)
		case "starwhale_version":
			s.StarwhaleVersion, err = p.str(v, key)
		case "api_version":
			s.APIVersion, err = p.str(v, key)
		case "environment":
			if envPy, err = p.environment(v, key, &s.Environment); err != nil {
				return err
			}
		case "dependencies":
			hasDeps = !isNull(deref(v))
			deps, pos, err = p.dependencies(v, key)
		case "configs":
			err = p.configs(v, key, s)
		}
		return err
	})
	if err != nil {
		return nil, err
	}

	if !nameSet {
		return nil, p.errAt(root, "name", "missing; a runtime needs a name (e.g. name: mnist); %s", NameRule)
	}
	if s.Mode == "" {
		s.Mode = DefaultMode
	}
	if p.cfgDockerImage != "" {
		if img := s.Environment.Docker.Image; img != "" && img != p.cfgDockerImage {
			return nil, p.errAt(p.cfgDockerNode, "configs.docker.image", "%q differs from environment.docker.image %q; allowed: the same image in both, or only one of them",
				p.cfgDockerImage, img)
		}
		s.Environment.Docker.Image = p.cfgDockerImage
	}
	switch {
	case pyNode != nil && envPy != nil && s.Python != s.Environment.Python:
		return nil, p.errAt(envPy, "environment.python", "%q differs from python_version %q (line %d); allowed: the same version in both, or only one of them",
			s.Environment.Python, s.Python, pyNode.Line)
	case pyNode == nil && envPy != nil:
		s.Python = s.Environment.Python
	case pyNode == nil:
		s.Python = DefaultPython
	}

	switch {
	case pipReqNode != nil:
		s.Dependencies = append(s.Dependencies, mode.Dependency{Kind: mode.DepPipReq, Path: pipReq})
		s.pos = append(s.pos, depPos{position: p.pos(pipReqNode, "pip_req")})
	case !hasDeps:
		s.Dependencies = append(s.Dependencies, mode.Dependency{Kind: mode.DepPipReq, Path: DefaultPipReq})
		s.pos = append(s.pos, depPos{position: position{field: "pip_req"}})
		s.DefaultPipReq = true
	}
	s.Dependencies = append(s.Dependencies, deps...)
	s.pos = append(s.pos, pos...)
	if s.Dependencies == nil {
		s.Dependencies = []mode.Dependency{}
	}
	return s, nil
}

// python reads a major.minor version, keeping the raw text so that an
// unquoted 3.10 is "3.10", not the float 3.1.
func (p *parser) python(v *yaml.Node, field string) (string, error) {
	py, err := p.str(v, field)
	if err != nil {
		return "", err
	}
	if err := ValidatePython(py); err != nil {
		return "", p.errAt(deref(v), field, "%s", err.(*Error).Msg)
	}
	return py, nil
}

func (p *parser) environment(n *yaml.Node, field string, env *Environment) (pyNode *yaml.Node, err error) {
	err = p.mapping(n, field, environmentKeys, func(key string, k, v *yaml.Node) error {
		f := join(field, key)
		var err error
		switch key {
		case "python":
			if env.Python, err = p.python(v, f); err != nil {
				return err
			}
			pyNode = deref(v)
		case "arch":
			var arches []string
			if arches, err = p.strList(v, f, true); err != nil {
				return err
			}
			items, _ := p.list(v, f, true)
			for i, a := range arches {
				a, ok := NormalizeArch(a)
				if !ok {
					at, af := deref(v), f
					if len(items) > i {
						at, af = deref(items[i]), index(f, i)
					}
					return p.errAt(at, af, "%q is not an architecture; allowed: %s (or x86_64, aarch64)", arches[i], strings.Join(Arches, ", "))
				}
				if !slices.Contains(env.Arch, a) {
					env.Arch = append(env.Arch, a)
				}
			}
		case "os":
			env.OS, err = p.str(v, f)
		case "cuda":
			env.CUDA, err = p.str(v, f)
		case "cudnn":
			env.CUDNN, err = p.str(v, f)
		case "docker":
			err = p.mapping(v, f, dockerKeys, func(key string, k, v *yaml.Node) error {
				var err error
				env.Docker.Image, err = p.nonEmpty(v, join(f, key))
				return err
			})
		}
		return err
	})
	return pyNode, err
}

func (p *parser) configs(n *yaml.Node, field string, s *Spec) error {
	return p.mapping(n, field, configsKeys, func(key string, k, v *yaml.Node) error {
		f := join(field, key)
		switch key {
		case "pip":
			return p.mapping(v, f, pipKeys, func(key string, k, v *yaml.Node) error {
				ff := join(f, key)
				var err error
				switch key {
				case "index_url":
					s.Pip.IndexURL, err = p.nonEmpty(v, ff)
				case "extra_index_url":
					s.Pip.ExtraIndexURL, err = p.strList(v, ff, true)
				case "trusted_host":
					s.Pip.TrustedHost, err = p.strList(v, ff, true)
				}
				return err
			})
		case "docker":
			return p.mapping(v, f, dockerKeys, func(key string, k, v *yaml.Node) error {
				var err error
				p.cfgDockerImage, err = p.nonEmpty(v, join(f, key))
				p.cfgDockerNode = deref(v)
				return err
			})
		case "conda":
			return p.mapping(v, f, condaKeys, func(key string, k, v *yaml.Node) error {
				ff := join(f, key)
				var err error
				switch key {
				case "channels":
					s.Conda.Channels, err = p.strList(v, ff, false)
				case "condarc":
					s.Conda.Condarc, err = p.condarc(v, ff)
				}
				return err
			})
		}
		return nil
	})
}

// condarc keeps a map as canonical YAML text: keys sorted, comments and
// aliases gone, raw scalars kept.
func (p *parser) condarc(n *yaml.Node, field string) (string, error) {
	n = deref(n)
	if isNull(n) {
		return "", nil
	}
	if n.Kind != yaml.MappingNode {
		return "", p.errAt(n, field, "expected a map (the content of a .condarc), got %s", what(n))
	}
	budget := maxCondarcNodes
	c := canonicalNode(n, &budget)
	if budget < 0 {
		return "", p.errAt(n, field, "too large once aliases are expanded; allowed: at most %d values", maxCondarcNodes)
	}
	if len(c.Content) == 0 {
		return "", nil
	}
	out, err := yaml.Marshal(c)
	if err != nil {
		return "", p.errAt(n, field, "cannot write as YAML: %v", err)
	}
	return string(out), nil
}

// maxCondarcNodes bounds configs.conda.condarc after alias expansion, so
// that a "billion laughs" document cannot stall the parser.
const maxCondarcNodes = 10000

// canonicalNode deep-copies n with aliases resolved, comments dropped, map
// keys sorted and styles reduced to plain or double-quoted. It spends one of
// *budget per node and stops copying when the budget is gone (below zero).
func canonicalNode(n *yaml.Node, budget *int) *yaml.Node {
	n = deref(n)
	c := &yaml.Node{Kind: n.Kind, Tag: n.Tag, Value: n.Value}
	if *budget--; *budget < 0 {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			c.Style = yaml.DoubleQuotedStyle
		}
		if n.ShortTag() == "!!str" {
			c.Tag = "!!str"
		}
	case yaml.SequenceNode:
		for _, it := range n.Content {
			c.Content = append(c.Content, canonicalNode(it, budget))
		}
	case yaml.MappingNode:
		type pair struct{ k, v *yaml.Node }
		var pairs []pair
		for i := 0; i+1 < len(n.Content); i += 2 {
			pairs = append(pairs, pair{canonicalNode(n.Content[i], budget), canonicalNode(n.Content[i+1], budget)})
		}
		slices.SortStableFunc(pairs, func(a, b pair) int { return strings.Compare(a.k.Value, b.k.Value) })
		for _, pr := range pairs {
			c.Content = append(c.Content, pr.k, pr.v)
		}
	}
	return c
}

// dependencies reads the ordered dependency list.
func (p *parser) dependencies(n *yaml.Node, field string) ([]mode.Dependency, []depPos, error) {
	items, err := p.list(n, field, false)
	if err != nil {
		return nil, nil, err
	}
	var (
		deps []mode.Dependency
		pos  []depPos
	)
	add := func(d mode.Dependency, dp depPos) {
		deps = append(deps, d)
		pos = append(pos, dp)
	}
	for i, it := range items {
		f := index(field, i)
		it = deref(it)
		switch it.Kind {
		case yaml.ScalarNode:
			v, err := p.str(it, f)
			if err != nil {
				return nil, nil, p.errAt(it, f, "%s is not a dependency; %s", what(it), depShapes)
			}
			kind := ""
			switch strings.ToLower(path.Ext(v)) {
			case ".txt", ".in":
				kind = mode.DepPipReq
			case ".yaml", ".yml":
				kind = mode.DepCondaEnv
			default:
				return nil, nil, p.errAt(it, f, "%q is not a dependency; %s", v, depShapes)
			}
			if msg := checkRelPath(v); msg != "" {
				return nil, nil, p.errAt(it, f, "%q %s", v, msg)
			}
			add(mode.Dependency{Kind: kind, Path: v}, depPos{position: p.pos(it, f)})
		case yaml.MappingNode:
			if len(it.Content) != 2 {
				return nil, nil, p.errAt(it, f, "a map with %d keys is not a dependency; %s", len(it.Content)/2, depShapes)
			}
			err := p.mapping(it, f, depKeys, func(key string, k, v *yaml.Node) error {
				kf := join(f, key)
				if dv := deref(v); isNull(dv) || (dv.Kind == yaml.SequenceNode && len(dv.Content) == 0) {
					return p.errAt(dv, kf, "empty; allowed: a list of at least one %s", depItem[key])
				}
				switch key {
				case "pip", "conda":
					pkgs, err := p.strList(v, kf, false)
					if err != nil {
						return err
					}
					kind := mode.DepPip
					if key == "conda" {
						kind = mode.DepConda
					}
					add(mode.Dependency{Kind: kind, Packages: pkgs}, depPos{position: p.pos(k, kf)})
				case "wheels":
					wheels, err := p.list(v, kf, false)
					if err != nil {
						return err
					}
					d := mode.Dependency{Kind: mode.DepWheel}
					dp := depPos{position: p.pos(k, kf)}
					for j, w := range wheels {
						wf := index(kf, j)
						wv, err := p.nonEmpty(w, wf)
						if err != nil {
							return err
						}
						if msg := checkRelPath(wv); msg != "" {
							return p.errAt(deref(w), wf, "%q %s", wv, msg)
						}
						if !strings.HasSuffix(strings.ToLower(wv), ".whl") {
							return p.errAt(deref(w), wf, "%q is not a wheel; allowed: paths of *.whl files inside the workdir", wv)
						}
						d.Packages = append(d.Packages, wv)
						dp.items = append(dp.items, p.pos(deref(w), wf))
					}
					add(d, dp)
				case "files":
					entries, err := p.list(v, kf, false)
					if err != nil {
						return err
					}
					for j, e := range entries {
						d, ep, err := p.fileEntry(e, index(kf, j))
						if err != nil {
							return err
						}
						add(d, ep)
					}
				case "commands":
					items, err := p.list(v, kf, false)
					if err != nil {
						return err
					}
					for j, c := range items {
						cf := index(kf, j)
						cmd, err := p.nonEmpty(c, cf)
						if err != nil {
							return err
						}
						add(mode.Dependency{Kind: mode.DepCommand, Command: cmd}, depPos{position: p.pos(deref(c), cf)})
					}
				}
				return nil
			})
			if err != nil {
				return nil, nil, err
			}
		default:
			return nil, nil, p.errAt(it, f, "%s is not a dependency; %s", what(it), depShapes)
		}
	}
	return deps, pos, nil
}

// fileEntry reads one {src, dest} of a files dependency.
func (p *parser) fileEntry(n *yaml.Node, field string) (mode.Dependency, depPos, error) {
	n = deref(n)
	d := mode.Dependency{Kind: mode.DepFile}
	var srcNode *yaml.Node
	if n.Kind != yaml.MappingNode {
		return d, depPos{}, p.errAt(n, field, "expected a map with src and dest, got %s", what(n))
	}
	err := p.mapping(n, field, fileKeys, func(key string, k, v *yaml.Node) error {
		f := join(field, key)
		val, err := p.nonEmpty(v, f)
		if err != nil {
			return err
		}
		switch key {
		case "src":
			if msg := checkRelPath(val); msg != "" {
				return p.errAt(deref(v), f, "%q %s", val, msg)
			}
			if path.Clean(filepath.ToSlash(val)) == "." {
				return p.errAt(deref(v), f, "%q is the whole workdir; allowed: a file or folder inside the workdir", val)
			}
			d.Src, srcNode = val, deref(v)
		case "dest":
			if !isAbs(val) {
				c := path.Clean(filepath.ToSlash(val))
				if c == ".." || strings.HasPrefix(c, "../") {
					return p.errAt(deref(v), f, "%q leaves the environment; allowed: a path inside the environment's prefix, or an absolute path", val)
				}
			}
			d.Dest = val
		}
		return nil
	})
	if err != nil {
		return d, depPos{}, err
	}
	switch {
	case d.Src == "":
		return d, depPos{}, p.errAt(n, join(field, "src"), "missing; a files entry needs src and dest")
	case d.Dest == "":
		return d, depPos{}, p.errAt(n, join(field, "dest"), "missing; a files entry needs src and dest")
	}
	return d, depPos{position: p.pos(srcNode, join(field, "src"))}, nil
}

func isAbs(p string) bool {
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) || filepath.IsAbs(p) {
		return true
	}
	// A Windows drive path is absolute wherever the spec is read.
	return len(p) >= 2 && p[1] == ':' && ((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z'))
}

// checkRelPath says what is wrong with a workdir-relative path, or "".
func checkRelPath(p string) string {
	switch {
	case strings.TrimSpace(p) == "":
		return "is empty; allowed: a path relative to the workdir, inside it"
	case strings.ContainsRune(p, 0):
		return "contains a NUL byte; allowed: a path relative to the workdir, inside it"
	case isAbs(p):
		return "is an absolute path; allowed: a path relative to the workdir, inside it"
	}
	c := path.Clean(strings.ReplaceAll(p, `\`, "/"))
	if c == ".." || strings.HasPrefix(c, "../") {
		return "leaves the workdir; allowed: a path relative to the workdir, inside it"
	}
	return ""
}
