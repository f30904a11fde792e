// Package chart tests the Helm chart in charts/plinth: lint and rendering
// with every switch, the values schema against bad values, the rendered
// manifests validated by a real API server, a real install and uninstall,
// and the RBAC proof — plinth-controller and plinth-node run as host
// processes with the chart's ServiceAccounts' tokens through the storage
// scenarios, and any forbidden request fails the test.
package chart
