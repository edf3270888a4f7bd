package instance

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/swcli/swcli/internal/atomicfile"
)

// DefaultProject is the project used when none is given.
const DefaultProject = "self"

// StorageRoot is the local instance's root: SW_LOCAL_STORAGE or ~/.starwhale.
func StorageRoot() (string, error) {
	if v := os.Getenv("SW_LOCAL_STORAGE"); v != "" {
		return filepath.Abs(v)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the home folder for ~/.starwhale (set SW_LOCAL_STORAGE): %w", err)
	}
	return filepath.Join(home, ".starwhale"), nil
}

// ConfigPath is the CLI config file: SW_CLI_CONFIG or
// ~/.config/starwhale/config.yaml.
func ConfigPath() string {
	if v := os.Getenv("SW_CLI_CONFIG"); v != "" {
		return v
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".config", "starwhale", "config.yaml")
}

// Known is an instance the CLI config knows by alias: what `swcli instance
// login` writes (the token is never printed: json:"-").
type Known struct {
	URI   string `yaml:"uri" json:"uri"`
	User  string `yaml:"user_name,omitempty" json:"user_name,omitempty"`
	Token string `yaml:"sw_token,omitempty" json:"-"`
	Type  string `yaml:"type" json:"type"` // "standalone" or "cloud"
}

// Config is the CLI config file.
type Config struct {
	CurrentInstance string           `yaml:"current_instance"`
	CurrentProject  string           `yaml:"current_project,omitempty"`
	Instances       map[string]Known `yaml:"instances"`
	StorageRoot     string           `yaml:"storage_root,omitempty"`
	// Store is the local instance's store URL (see StoreEnv).
	Store string `yaml:"store,omitempty"`
}

// LoadConfig reads the CLI config; a missing file gives the defaults.
func LoadConfig() (*Config, error) {
	c := &Config{CurrentInstance: LocalName, CurrentProject: DefaultProject,
		Instances: map[string]Known{LocalName: {URI: LocalName, Type: "standalone"}}}
	p := ConfigPath()
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && err.Error() != "EOF" {
		return nil, fmt.Errorf("%s: %v", p, err)
	}
	if c.CurrentProject == "" {
		c.CurrentProject = DefaultProject
	}
	if c.Instances == nil {
		c.Instances = map[string]Known{}
	}
	c.Instances[LocalName] = Known{URI: LocalName, Type: "standalone"}
	return c, nil
}

// Save writes the config atomically.
func (c *Config) Save() error {
	p := ConfigPath()
	data, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	return atomicfile.Write(p, data, 0o600)
}

// WriteFileAtomic writes data to path through a temp file and a rename.
//
// Deprecated: use internal/atomicfile.Write; kept until its last caller
// in core/workflow moves.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	return atomicfile.Write(path, data, perm)
}

// WriteFileAtomicFunc is atomicfile.Write for content that write streams
// (a bundle file): a
// temp file beside path, synced, then renamed over it. If write fails the old
// file stays as it was.
func WriteFileAtomicFunc(path string, perm fs.FileMode, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// Aliases lists the instances the config knows, sorted.
func (c *Config) Aliases() []string {
	out := make([]string, 0, len(c.Instances))
	for a := range c.Instances {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}
