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
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plinth-dev/plinth/csi-driver/plugin"
)

// probeIdentity answers Probe with a fixed verdict.
type probeIdentity struct {
	csi.IdentityClient
	ready *bool
	err   error
}

func (p probeIdentity) Probe(context.Context, *csi.ProbeRequest, ...grpc.CallOption) (*csi.ProbeResponse, error) {
	if p.err != nil {
		return nil, p.err
	}
	resp := &csi.ProbeResponse{}
	if p.ready != nil {
		resp.Ready = wrapperspb.Bool(*p.ready)
	}
	return resp, nil
}

func TestCSIReadinessNeedsProbeAndKubeletRegistration(t *testing.T) {
	yes, no := true, false
	registering := plugin.Config{RegistryDir: "/var/lib/kubelet/plugins_registry", Status: &plugin.Status{}}
	cases := []struct {
		name     string
		cfg      plugin.Config
		identity probeIdentity
		ready    bool
	}{
		{"not registered yet", registering, probeIdentity{ready: &yes}, false},
		{"no registration asked, probe ready", plugin.Config{}, probeIdentity{ready: &yes}, true},
		{"probe without a verdict counts as ready", plugin.Config{}, probeIdentity{}, true},
		{"probe not ready", plugin.Config{}, probeIdentity{ready: &no}, false},
		{"probe fails", plugin.Config{}, probeIdentity{err: errors.New("down")}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := csiReady(c.cfg, c.identity)(httptest.NewRequest(http.MethodGet, "/readyz/csi", nil))
			if (err == nil) != c.ready {
				t.Fatalf("ready = %v (err %v), want %v", err == nil, err, c.ready)
			}
		})
	}
}
