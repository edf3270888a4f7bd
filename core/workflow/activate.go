package workflow

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/spec"
)

// Target is a ready environment: a workdir's or a restored bundle's.
type Target struct {
	Name    string
	Mode    string
	Workdir string
	Prefix  string
	State   *State
	Spec    *spec.Spec
	Env     mode.Env
}

// OpenWorkdir finds the ready environment of a workdir.
func (s *Service) OpenWorkdir(dir string) (*Target, error) {
	wd, err := absWorkdir(dir)
	if err != nil {
		return nil, err
	}
	sp, err := spec.Load(filepath.Join(wd, spec.FileName))
	if err != nil {
		return nil, err
	}
	st, err := ReadState(StatePathOf(wd, sp.Mode))
	if err != nil {
		return nil, err
	}
	if st == nil || st.State != StateReady {
		ns := ""
		if st != nil {
			ns = st.State
		}
		return nil, &NotReadyError{Workdir: wd, Mode: sp.Mode, State: ns}
	}
	prefix := PrefixOf(wd, sp.Mode)
	if st.Prefix != "" && filepath.Clean(st.Prefix) != prefix {
		// The workdir was moved (a restored one, say) since the activation
		// was cached: the cached variables name the old place, and PATH
		// would find the system's python. Ask the mode again.
		st.Vars, st.Unset, st.Script = nil, nil, ""
	}
	return &Target{Name: sp.Name, Mode: sp.Mode, Workdir: wd, Prefix: prefix, State: st, Spec: sp,
		Env: EnvFor(wd, prefix, sp, mode.Python{Version: st.Python})}, nil
}

// Activation asks the target's mode for the activation of one shell.
func (s *Service) Activation(ctx context.Context, t *Target, shell string) (mode.Activation, error) {
	if shell == "" {
		shell = DefaultShell()
	}
	m, err := s.Modes.Mode(ctx, t.Mode)
	if err != nil {
		return mode.Activation{}, err
	}
	return m.Activation(ctx, mode.ActivationRequest{Env: t.Env, Shell: shell, Name: t.Name})
}

// DefaultShell is the basename of $SHELL when it is a supported shell, else sh.
func DefaultShell() string {
	sh := filepath.Base(os.Getenv("SHELL"))
	for _, s := range mode.Shells {
		if s == sh {
			return s
		}
	}
	if sh == "dash" || sh == "ash" || sh == "ksh" {
		return "sh"
	}
	return "bash"
}

// ApplyEnv returns base (KEY=VALUE list) with the activation applied:
// unsets removed, vars set with ${NAME} expanded against base.
func ApplyEnv(base []string, vars []mode.EnvVar, unset []string) []string {
	m := map[string]string{}
	var order []string
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		if _, ok := m[k]; !ok {
			order = append(order, k)
		}
		m[k] = v
	}
	for _, u := range unset {
		delete(m, u)
	}
	for _, v := range vars {
		val := os.Expand(v.Value, func(name string) string { return m[name] })
		// "PATH=/p/bin:${PATH}" with an empty PATH must not leave a trailing
		// ':' (an empty PATH entry means the current directory).
		val = strings.TrimSuffix(val, string(os.PathListSeparator))
		if _, ok := m[v.Name]; !ok {
			order = append(order, v.Name)
		}
		m[v.Name] = val
	}
	out := make([]string, 0, len(m))
	for _, k := range order {
		if v, ok := m[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}
