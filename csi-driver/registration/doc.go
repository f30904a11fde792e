/*
Copyright 2026 The Plinth Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package registration registers the CSI driver with the kubelet without a
// node-driver-registrar sidecar.
//
// The kubelet's plugin watcher looks for unix sockets in its plugins_registry
// directory (/var/lib/kubelet/plugins_registry). On each new socket it calls
// GetInfo over the pluginregistration/v1 API to learn the plugin's type, name
// and CSI endpoint, registers the driver (calling NodeGetInfo on that
// endpoint), and reports the outcome with NotifyRegistrationStatus. Removing
// the socket unregisters the driver.
//
// # Registering again
//
// The kubelet learns a driver's topology only when it registers the driver,
// so plinth-node serves a new socket when the node's topology changes (see
// package plugin). What the kubelet (v1.36, pkg/kubelet/pluginmanager and
// pkg/volume/csi/csi_plugin.go) then does:
//
//   - Its inotify watch records the socket's removal and creation; the new
//     socket gets a new UUID in the desired state, so the reconciler first
//     unregisters the plugin (the same socket path serializes the two
//     operations). A second registration while the first stands would be
//     refused: ValidatePlugin rejects a driver name already registered with
//     the same highest CSI version.
//   - DeRegisterPlugin drops the driver from the kubelet's driver map and
//     from the CSINode object and removes the node ID annotation; it leaves
//     the Node's topology labels.
//   - RegisterPlugin calls GetInfo and NodeGetInfo, labels the Node with the
//     reported segments (it fails, and retries later, on a label of another
//     value: the segments come from the Node's own labels, so they agree),
//     and adds the driver to CSINode with the new topology keys. A CSINode
//     driver entry is immutable, hence the unregistration first.
//
// Existing volumes are not touched: mounts stay, no NodeUnstage or
// NodeUnpublish is issued, and PVs keep their node affinity. For the moment
// between the two steps the kubelet does not know the driver: volume
// operations it starts then (a mount for a new pod, an unmount, volume
// stats) fail with "driver not found" and are retried with backoff, and
// CSINode briefly lists no volume limit for the driver.
package registration
