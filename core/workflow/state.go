package workflow

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/internal/atomicfile"
)

// Environment states recorded in a state file. Only StateReady means usable;
// anything else (or no file) is a half-made environment that is redone.
const (
	StateCreating  = "creating"
	StateRestoring = "restoring"
	StateReady     = "ready"
)

// State is what swcli records about an environment, beside it (never inside
// the prefix, so it is not packed).
type State struct {
	State   string `json:"state"`
	Mode    string `json:"mode"`
	Name    string `json:"name"`
	Python  string `json:"python"`
	Prefix  string `json:"prefix"`
	Updated string `json:"updated"`
	// Vars caches the activation variables so `runtime run` needs no plugin.
	Vars  []mode.EnvVar `json:"vars,omitempty"`
	Unset []string      `json:"unset,omitempty"`
	// Script is the sh activation script, kept when Vars are not enough
	// (mode.Activation.ScriptRequired): commands run through it.
	Script string `json:"script,omitempty"`
	// DepsDigest identifies what the environment was made to hold (the
	// normalized spec and the content of the files it names).
	DepsDigest string `json:"deps_digest,omitempty"`
	// Version is the bundle version a restored environment came from.
	Version string `json:"version,omitempty"`
}

// ReadState reads a state file; a missing one gives (nil, nil).
func ReadState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return &State{State: "corrupt"}, nil
	}
	return &s, nil
}

// WriteState writes a state file atomically.
func WriteState(path string, s *State) error {
	s.Updated = time.Now().UTC().Format(time.RFC3339)
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(data, '\n'), 0o644)
}

// Workdir layout.
const (
	// DotDir is WORKDIR/.starwhale.
	DotDir = ".starwhale"
)

// PrefixOf is the environment prefix of a workdir for a mode.
func PrefixOf(workdir, modeName string) string {
	return filepath.Join(workdir, DotDir, modeName)
}

// StatePathOf is the state file of a workdir's environment.
func StatePathOf(workdir, modeName string) string {
	return filepath.Join(workdir, DotDir, "state", modeName+".json")
}

// ModeStateDirOf is the folder a workdir's environment's mode keeps what it
// remembers about the environment in (mode.Env.StateDir).
func ModeStateDirOf(workdir, modeName string) string {
	return filepath.Join(workdir, DotDir, "state", modeName)
}

// LockDirOf is where build writes the lock files.
func LockDirOf(workdir string) string {
	return filepath.Join(workdir, DotDir, "lock")
}
