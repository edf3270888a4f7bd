package workflow

import (
	"os"
	"path/filepath"

	"github.com/swcli/swcli/core/registry"
)

// Local opens the standalone instance's registry and the folder where its
// temporary files go.
func (s *Service) Local() (*registry.Registry, string, error) {
	l, err := s.Instances().Local()
	if err != nil {
		return nil, "", err
	}
	return l.Registry(), l.TempDir(), nil
}

// CacheDir is where restored environments of stored versions live.
func (s *Service) CacheDir() string { return filepath.Join(s.StorageRoot, "envs") }

func mkdirTemp(dir, pattern string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(dir, pattern)
}
