// Package meshview builds the mesh at a glance (GET /health/mesh and the
// dashboard at GET /): every member, this node included, with what it says
// about itself (its last gossiped summary) beside what this node sees of it
// (its peer-liveness state). It holds no state of its own: each answer is
// built from the health snapshot, the liveness view and the summary book at
// request time, so there is one liveness view in the node, not two.
package meshview
