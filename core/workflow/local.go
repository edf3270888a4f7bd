package workflow

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/store"
)

// Local opens the standalone instance's registry under the storage root.
func (s *Service) Local() (*registry.Registry, *store.FS, error) {
	if s.StorageRoot == "" {
		return nil, nil, fmt.Errorf("no storage root (set SW_LOCAL_STORAGE)")
	}
	fs, err := store.NewFS(filepath.Join(s.StorageRoot, "store"))
	if err != nil {
		return nil, nil, fmt.Errorf("open the local store at %s: %w", s.StorageRoot, err)
	}
	return registry.New(fs), fs, nil
}

// CacheDir is where restored environments of stored versions live.
func (s *Service) CacheDir() string { return filepath.Join(s.StorageRoot, "envs") }

func mkdirTemp(dir, pattern string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(dir, pattern)
}
