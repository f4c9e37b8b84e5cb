// Package check holds `make deploy-check`: tests that hold deploy/ (the
// Kubernetes base, the alert rules, the Grafana dashboard, the image
// recipe) to the real tools and to a live node. It is its own Go module
// so the node's go.mod does not carry Prometheus', Kubernetes' and
// kustomize's dependency trees; it reaches the node's code through a
// replace directive, so ports, flags and paths are read from the node
// itself rather than written down twice.
package check
