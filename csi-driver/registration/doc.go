// Package registration registers the CSI driver with the kubelet without a
// node-driver-registrar sidecar.
//
// The kubelet's plugin watcher looks for unix sockets in its plugins_registry
// directory (/var/lib/kubelet/plugins_registry). On each new socket it calls
// GetInfo over the pluginregistration/v1 API to learn the plugin's type, name
// and CSI endpoint, registers the driver (calling NodeGetInfo on that
// endpoint), and reports the outcome with NotifyRegistrationStatus. Removing
// the socket unregisters the driver.
package registration
