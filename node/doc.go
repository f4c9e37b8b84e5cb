// Package node is the meshhealth node: its configuration (flags,
// MESHHEALTH_* variables, an optional YAML file) and the composition of each
// package's fx.Module into one application. cmd/node is a thin main around
// it; the in-process test mesh builds whole nodes through it on mocknet.
//
// Decisions live in the packages it composes; this one only connects them.
package node
