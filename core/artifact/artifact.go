// Package artifact owns models and datasets as stored artifacts: their spec
// files (model.yaml, dataset.yaml), building a folder into a bundle (an OCI
// manifest of artifact type application/vnd.starwhale.model.v1 or
// .dataset.v1, a config blob, and layers of the folder's files) stored as a
// version in the local instance, reading a version's config, and laying a
// version's files out in a folder. Versions, tags, trash and copy are the
// registry's and core/instance's, the same for every kind; this package only
// knows what is inside a model or dataset bundle.
//
// # Layers
//
// Files are chunked so that an unchanged file gives the same layer bytes in
// every version and in either kind, and a changed file moves only its own
// layer: a file of LargeFile bytes or more is a content layer of its own,
// whose tar holds the file under the fixed name "content" and whose
// descriptor names its path (annotation AnnotationPath), so identical large
// files are one blob whatever their paths (in one folder, across versions
// and kinds); smaller
// files, in path order, are packed into groups whose boundaries depend only
// on the paths (a group ends after a path whose FNV hash is 0 modulo
// groupEvery, or when it reaches GroupBytes), so changing one small file
// changes one group and adding or removing a file changes the groups around
// it only. Each layer is a deterministic tar+zstd (core/bundle.PackLayer)
// with role "files".
package artifact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	ignore "github.com/sabhiram/go-gitignore"
	"gopkg.in/yaml.v3"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/spec"
)

// IgnoreFile holds gitignore-like patterns of files a build leaves out.
const IgnoreFile = ".swignore"

// AnnotationPath, on a content layer's descriptor, is the slash path its
// one file is laid out at.
const AnnotationPath = "org.starwhale.artifact.file.path"

// contentName is the tar name of a content layer's file.
const contentName = "content"

// Chunking parameters (see the package documentation).
const (
	LargeFile  = 1 << 20
	GroupBytes = 8 << 20
	// groupEvery is 256, not 64: each layer of a version costs the
	// registry a lease and a link (synced writes) on every build, which made
	// a rebuild of 10,000 small files several times slower; a group is
	// still at most GroupBytes, so a changed file repacks at most that.
	groupEvery = 256
)

// SpecFile is the spec file of each kind.
func SpecFile(k registry.Kind) string { return string(k) + ".yaml" }

// ArtifactType and ConfigType are the bundle types of each kind.
func ArtifactType(k registry.Kind) string {
	if k == registry.KindDataset {
		return bundle.ArtifactTypeDataset
	}
	return bundle.ArtifactTypeModel
}

func configType(k registry.Kind) string {
	if k == registry.KindDataset {
		return bundle.MediaTypeConfigDataset
	}
	return bundle.MediaTypeConfigModel
}

// Spec is model.yaml or dataset.yaml.
type Spec struct {
	Name string  `yaml:"name"`
	Run  *RunRef `yaml:"run,omitempty"`
	Desc string  `yaml:"desc,omitempty"`
}

// RunRef is what a model runs: a command line, run by a shell in the job's
// folder.
type RunRef struct {
	Handler string `yaml:"handler"`
}

// Config is the config blob of a model or dataset bundle.
type Config struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	SpecFile string `json:"spec_file"`
	Spec     string `json:"spec"`
	Handler  string `json:"handler,omitempty"`
	Files    int    `json:"files"`
	Bytes    int64  `json:"bytes"`
}

// SpecError is a bad spec file: the file and what is wrong.
type SpecError struct {
	Path string
	Msg  string
}

func (e *SpecError) Error() string { return e.Path + ": " + e.Msg }

// LoadSpec reads and checks the spec file of kind k in dir: a known-fields
// YAML document with a valid name; a model's run.handler, when given, is not
// empty; a dataset has no run.
func LoadSpec(dir string, k registry.Kind) (Spec, []byte, error) {
	p := filepath.Join(dir, SpecFile(k))
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Spec{}, nil, &SpecError{Path: p, Msg: fmt.Sprintf("not found: a %s folder needs a %s with at least a name", k, SpecFile(k))}
	}
	if err != nil {
		return Spec{}, nil, err
	}
	var s Spec
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return Spec{}, nil, &SpecError{Path: p, Msg: strings.ReplaceAll(err.Error(), "\n", "; ") + " (allowed keys: name, desc" + map[bool]string{true: ", run.handler", false: ""}[k == registry.KindModel] + ")"}
	}
	if err := spec.ValidateName(s.Name); err != nil {
		return Spec{}, nil, &SpecError{Path: p, Msg: "name: " + strings.Replace(err.Error(), "runtime name", string(k)+" name", 1)}
	}
	switch {
	case k == registry.KindDataset && s.Run != nil:
		return Spec{}, nil, &SpecError{Path: p, Msg: "a dataset has no run: section; put the handler in the model's model.yaml"}
	case s.Run != nil && strings.TrimSpace(s.Run.Handler) == "":
		return Spec{}, nil, &SpecError{Path: p, Msg: "run.handler is empty; give the command to run, e.g. python evaluate.py"}
	}
	return s, data, nil
}

// ParseConfig reads a model or dataset config blob and checks its kind.
func ParseConfig(data []byte, k registry.Kind) (Config, error) {
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("%s config blob is not valid JSON: %w", k, err)
	}
	if c.Kind != string(k) {
		got := c.Kind
		if got == "" {
			got = "runtime"
		}
		return Config{}, &KindError{Want: k, Got: got, Name: c.Name}
	}
	return c, nil
}

// KindError says a version is of another kind than the one asked for (a
// dataset given as a model).
type KindError struct {
	Want registry.Kind
	Got  string
	Name string
}

func (e *KindError) Error() string {
	return fmt.Sprintf("%s is a %s, not a %s", e.Name, e.Got, e.Want)
}

// files lists the regular files and symlinks of dir (slash paths, sorted)
// minus what .swignore excludes, with their sizes.
func files(dir string) ([]string, map[string]int64, error) {
	var ig *ignore.GitIgnore
	if _, err := os.Stat(filepath.Join(dir, IgnoreFile)); err == nil {
		if ig, err = ignore.CompileIgnoreFile(filepath.Join(dir, IgnoreFile)); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, IgnoreFile), err)
		}
	}
	var out []string
	sizes := map[string]int64{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if ig != nil && ig.MatchesPath(rel+"/") {
				return filepath.SkipDir
			}
			return nil
		}
		if ig != nil && ig.MatchesPath(rel) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() && fi.Mode()&fs.ModeSymlink == 0 {
			return &SpecError{Path: p, Msg: "is not a regular file, folder or symlink; leave it out with " + IgnoreFile}
		}
		out = append(out, rel)
		sizes[rel] = fi.Size()
		return nil
	})
	return out, sizes, err // WalkDir visits in lexical order
}

// isContent tells whether a group of files is one large file: a content
// layer.
func isContent(group []string, sizes map[string]int64) bool {
	return len(group) == 1 && sizes[group[0]] >= LargeFile
}

// groups chunks files into layers (see the package documentation).
func groups(paths []string, sizes map[string]int64) [][]string {
	var out [][]string
	var cur []string
	var curBytes int64
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
			cur, curBytes = nil, 0
		}
	}
	for _, p := range paths {
		if sizes[p] >= LargeFile {
			out = append(out, []string{p})
			continue
		}
		cur = append(cur, p)
		curBytes += sizes[p]
		h := fnv.New32a()
		h.Write([]byte(p))
		if h.Sum32()%groupEvery == 0 || curBytes >= GroupBytes {
			flush()
		}
	}
	flush()
	return out
}
