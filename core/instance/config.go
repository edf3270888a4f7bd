package instance

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

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
	// ImageRepo is the repository of the base images `runtime dockerize`
	// derives from starwhale_version (SW_IMAGE_REPO overrides it).
	ImageRepo string `yaml:"image_repo,omitempty"`
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

// Aliases lists the instances the config knows, sorted.
func (c *Config) Aliases() []string {
	out := make([]string, 0, len(c.Instances))
	for a := range c.Instances {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// AliasOf is the alias whose URI is url ("" when none): a URL the user
// logged in to is used with that alias's credentials.
func (c *Config) AliasOf(url string) string {
	for _, a := range c.Aliases() {
		if k := c.Instances[a]; k.Type != "standalone" && strings.TrimRight(k.URI, "/") == strings.TrimRight(url, "/") {
			return a
		}
	}
	return ""
}
