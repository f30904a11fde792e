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

package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"sigs.k8s.io/controller-runtime/pkg/healthz"

	"github.com/plinth-dev/plinth/csi-driver/plugin"
)

// probeTimeout bounds the CSI Probe of one readiness check.
const probeTimeout = 3 * time.Second

// errNotRegistered is the readiness verdict before the kubelet accepted the
// driver.
var errNotRegistered = errors.New("the kubelet has not registered the CSI driver yet")

// csiReady is plinth-node's storage readiness: the driver answers Probe
// with ready, and, where the plugin registers with the kubelet, the
// kubelet accepted the registration (before that no pod on the node can
// mount a Plinth volume).
func csiReady(cfg plugin.Config, identity csi.IdentityClient) healthz.Checker {
	return func(req *http.Request) error {
		if cfg.RegistryDir != "" && (cfg.Status == nil || !cfg.Status.Registered()) {
			return errNotRegistered
		}
		ctx, cancel := context.WithTimeout(req.Context(), probeTimeout)
		defer cancel()
		resp, err := identity.Probe(ctx, &csi.ProbeRequest{})
		if err != nil {
			return fmt.Errorf("CSI Probe failed: %w", err)
		}
		if r := resp.GetReady(); r != nil && !r.GetValue() {
			return errors.New("the CSI driver reports not ready")
		}
		return nil
	}
}
