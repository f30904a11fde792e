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
	"testing"
	"time"

	csimetrics "github.com/kubernetes-csi/csi-lib-utils/metrics"
	"k8s.io/utils/ptr"

	"github.com/plinth-dev/plinth/csi-driver/plugin"
	"github.com/plinth-dev/plinth/internal/metricsauth/metricsauthtest"
	"github.com/plinth-dev/plinth/internal/wellknown"
	"github.com/plinth-dev/plinth/test/controlplane"
)

// plinth-node's metrics endpoint, on the host network, answers only
// scrapers the API server authenticates and authorizes: no token is 401,
// a token without the metrics-reader permission 403, for the controllers'
// metrics and for the CSI driver's at /metrics/csi alike.
func TestMetricsNeedAnAuthorizedToken(t *testing.T) {
	scheme, err := Scheme()
	if err != nil {
		t.Fatal(err)
	}
	cp := controlplane.StartForTest(t, controlplane.Options{Scheme: scheme, AllocateNodeCIDRs: ptr.To(false)})
	addr := freeAddr(t)
	recorder := csimetrics.NewCSIMetricsManagerForPlugin(wellknown.DriverName)
	recorder.RecordMetrics("/csi.v1.Identity/GetPluginInfo", nil, time.Millisecond)
	cfg := Config{
		Plugin:     plugin.Config{DriverName: wellknown.DriverName, NodeName: "node-1", Metrics: recorder},
		RestConfig: cp.Config, Namespace: "plinth-system", MetricsAddress: addr, HealthAddress: "0",
		SkipControllerNameValidation: true,
	}
	mgr, err := newManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("manager stopped with: %v", err)
		}
	})
	metricsauthtest.AssertScrapeAuth(t, cp.Clientset, "scrapers", []string{"/metrics", csiMetricsPath},
		metricsauthtest.Endpoint{URL: "https://" + addr + "/metrics", Want: "# TYPE"},
		metricsauthtest.Endpoint{URL: "https://" + addr + csiMetricsPath, Want: "GetPluginInfo"})
}
