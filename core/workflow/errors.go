package workflow

import "fmt"

// UsageError is a bad input the user can fix: one line, what and what is
// allowed.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

// NotReadyError says a workdir has no ready environment.
type NotReadyError struct {
	Workdir, Mode, State string
}

func (e *NotReadyError) Error() string {
	if e.State != "" {
		return fmt.Sprintf("the %s environment of %s is not ready (state %q: an earlier create or install did not finish); run `swcli runtime create --force %s`", e.Mode, e.Workdir, e.State, e.Workdir)
	}
	return fmt.Sprintf("%s has no %s environment; run `swcli runtime create %s` first", e.Workdir, e.Mode, e.Workdir)
}
