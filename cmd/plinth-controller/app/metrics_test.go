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

package app_test

import (
	"context"
	"net"
	"testing"

	"k8s.io/utils/ptr"

	"github.com/plinth-dev/plinth/cmd/plinth-controller/app"
	"github.com/plinth-dev/plinth/internal/metricsauth/metricsauthtest"
	"github.com/plinth-dev/plinth/test/controlplane"
)

// plinth-controller's metrics endpoint (on the host network with the
// chart's defaults) answers only scrapers the API server authenticates and
// authorizes: no token is 401, a token without the permission 403.
func TestMetricsNeedAnAuthorizedToken(t *testing.T) {
	scheme, err := app.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	cp := controlplane.StartForTest(t, controlplane.Options{Scheme: scheme, AllocateNodeCIDRs: ptr.To(false)})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	mgr, err := app.NewManager(app.Config{
		RestConfig: cp.Config, Namespace: "plinth-system", MetricsAddress: addr, HealthAddress: "0",
		SkipControllerNameValidation: true,
	})
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
	metricsauthtest.AssertScrapeAuth(t, cp.Clientset, "scrapers", []string{"/metrics"},
		metricsauthtest.Endpoint{URL: "https://" + addr + "/metrics", Want: "# TYPE"})
}
