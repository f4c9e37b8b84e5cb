// Package importboss holds no code, only a test: which of our packages each
// package may import, the table of docs/ARCHITECTURE.md ("The parts")
// enforced with go list, as Kubernetes' import-boss does. A package's doc
// comment may say why a rule holds; the rule itself lives in the test and in
// ARCHITECTURE.md, and the test checks that the two agree.
package importboss
