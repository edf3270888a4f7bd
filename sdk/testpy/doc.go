// Package testpy helps tests that need a real Python without a network.
//
// It finds the Python interpreters installed on the machine (pyenv versions and
// python3.X on PATH), builds tiny but valid pure-Python wheels on the fly, and
// serves a folder of wheels as a PEP 503 "simple" index on 127.0.0.1, so that
// real pip can install from a folder (--no-index --find-links DIR) or from an
// index (--index-url URL) with no PyPI.
//
// Plugin authors use it in their own tests too; it depends on nothing but the
// standard library and the testing package. A test that needs a Python the
// machine lacks skips and says what it found instead (RequirePython,
// AnyPythons).
package testpy
