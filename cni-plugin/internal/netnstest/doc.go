// Package netnstest holds test helpers shared by the plugin and agent tests:
// network namespaces that clean themselves up, running commands inside
// them, and polling with a deadline instead of sleeping.
//
// Everything here acts only inside namespaces the test created; nothing
// touches the namespace the test binary started in.
package netnstest
