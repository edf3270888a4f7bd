package venvmode

// RequiresAnything is requiresAnything, for the external tests.
var RequiresAnything = requiresAnything

// PipChecks is how many times m ran pip check.
func PipChecks(m *Mode) int64 { return m.pipChecks.Load() }
