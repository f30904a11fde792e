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

package registration_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr/testr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"

	"github.com/plinth-dev/plinth/csi-driver/registration"
)

// TestKubeletSeesTheDriverAndItsVerdictIsRecorded plays the kubelet's plugin
// watcher against the registration socket.
func TestKubeletSeesTheDriverAndItsVerdictIsRecorded(t *testing.T) {
	sock := registration.SocketPath(t.TempDir(), "csi.plinth.dev")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := registration.NewServer("csi.plinth.dev", "/var/lib/kubelet/plugins/csi.plinth.dev/csi.sock", testr.New(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := registerapi.NewRegistrationClient(conn)

	info, err := client.GetInfo(ctx, &registerapi.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.GetType() != registerapi.CSIPlugin || info.GetName() != "csi.plinth.dev" || filepath.Base(info.GetEndpoint()) != "csi.sock" {
		t.Errorf("GetInfo = %v", info)
	}
	for _, verdict := range []bool{true, false} {
		if _, err := client.NotifyRegistrationStatus(ctx, &registerapi.RegistrationStatus{PluginRegistered: verdict, Error: "x"}); err != nil {
			t.Fatal(err)
		}
		if srv.Registered() != verdict {
			t.Errorf("Registered() = %v after the kubelet said %v", srv.Registered(), verdict)
		}
	}
}
