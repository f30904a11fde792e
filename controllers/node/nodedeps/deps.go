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

package nodedeps

import (
	"github.com/container-storage-interface/spec/lib/go/csi"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Deps are the dependencies shared by the reconcilers of one node.
type Deps struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// Controller is the node's CSI driver's controller service.
	Controller csi.ControllerClient
	// DriverName is the CSI driver and provisioner name.
	DriverName string
	// NodeName is the node the reconcilers work for.
	NodeName string
	// Recorder emits Events on the objects the reconcilers handle.
	Recorder events.EventRecorder
}
