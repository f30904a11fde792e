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

package storagenode

import (
	"context"
	"fmt"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/plinth-dev/plinth/csi-driver/registration/registrationtest"
)

// startKubelet plays the kubelet's plugin watcher on the node's registry
// directory until ctx is done: each time plinth-node creates its
// registration socket (at start, and again when the node's topology
// changes), the driver is registered as the kubelet registers it
// (RegisterCSIDriver). The kubelet would also unregister the driver
// while the socket is gone; that step is left out, as RegisterCSIDriver
// replaces a changed entry.
func (n *Node) startKubelet(ctx context.Context) error {
	register := func(ctx context.Context, driver string, info *csi.NodeGetInfoResponse) error {
		return RegisterCSIDriver(ctx, n.cp.Client, n.Name, driver, info)
	}
	k, err := registrationtest.Start(ctx, n.registryDir, register, n.log.WithName("kubelet"))
	if err != nil {
		return fmt.Errorf("failed to watch the plugin registry of %s: %w", n.Name, err)
	}
	n.kubelet = k
	return nil
}

// Registrations is how often the driver registered through its registration
// socket since the node was last (re)started: once at start, and once more
// after each change of the node's topology.
func (n *Node) Registrations() int64 {
	return n.kubelet.Registrations()
}

// WaitForRegistration waits until the driver registered more than after
// times since the node was last (re)started.
func (n *Node) WaitForRegistration(ctx context.Context, after int64) error {
	if err := n.kubelet.WaitForRegistration(ctx, after, time.Minute); err != nil {
		return fmt.Errorf("driver of node %s not registered: %w", n.Name, err)
	}
	return nil
}
