package venvmode

// RequiresAnything is requiresAnything, for the external tests.
var RequiresAnything = requiresAnything
