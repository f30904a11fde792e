// Package prereq lets a test state what it needs from the machine (root, a
// command on PATH, the control-plane binaries) before it runs.
//
// A developer running `go test ./...` without those prerequisites sees the
// test skipped with the reason. Under CI (the CI environment variable set to
// "true") a missing prerequisite is a failure: CI installs everything through
// the repository's own scripts, so a skip there would hide a broken setup.
package prereq
