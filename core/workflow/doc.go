// Package workflow owns the workflows a user runs: create an environment from a
// runtime.yaml, activate it, run a command in it, build it into a bundle,
// restore a bundle into a ready environment, extract and copy. It drives a
// mode plugin for everything environment-specific and core/registry and
// core/bundle for versions and files; it never talks gRPC and never prints
// (progress goes to an Events sink the CLI renders).
package workflow
