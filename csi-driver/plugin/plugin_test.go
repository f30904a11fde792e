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

package plugin_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/wellknown"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/go-logr/logr/testr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"

	"github.com/plinth-dev/plinth/csi-driver/plugin"
	"github.com/plinth-dev/plinth/csi-driver/registration"
)

// TestRunServesCSIRegistrationAndMetricsAndUnregistersOnStop runs the node
// plugin as plinth-node does and talks to it as the kubelet and Prometheus do.
func TestRunServesCSIRegistrationAndMetricsAndUnregistersOnStop(t *testing.T) {
	// Unix socket paths are limited to 107 bytes; t.TempDir() names are long.
	dir, err := os.MkdirTemp("", "plinth")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	cfg := plugin.Config{
		DriverName:     wellknown.DriverName,
		Version:        "test",
		NodeName:       "node-a",
		Endpoint:       "unix://" + filepath.Join(dir, "csi.sock"),
		RegistryDir:    filepath.Join(dir, "registry"),
		PoolDir:        filepath.Join(dir, "pool"),
		MetricsAddress: freeAddress(t),
		Logger:         testr.New(t),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- plugin.Run(ctx, cfg) }()
	regSock := registration.SocketPath(cfg.RegistryDir, cfg.DriverName)
	waitFor(t, func() bool {
		select {
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		default:
		}
		conn, err := net.Dial("unix", regSock)
		if err == nil {
			_ = conn.Close()
		}
		return err == nil
	})

	info, err := registerapi.NewRegistrationClient(dial(t, "unix://"+regSock)).GetInfo(ctx, &registerapi.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.GetEndpoint() != filepath.Join(dir, "csi.sock") {
		t.Errorf("registration endpoint = %q", info.GetEndpoint())
	}
	plugInfo, err := csi.NewIdentityClient(dial(t, cfg.Endpoint)).GetPluginInfo(ctx, &csi.GetPluginInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if plugInfo.GetName() != wellknown.DriverName {
		t.Errorf("plugin name = %q", plugInfo.GetName())
	}
	if body := get(t, "http://"+cfg.MetricsAddress+"/metrics"); !strings.Contains(body, "GetPluginInfo") {
		t.Errorf("metrics do not count the GetPluginInfo call:\n%s", body)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(regSock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("registration socket still there after stop: %v", err)
	}
}

func freeAddress(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func dial(t *testing.T, endpoint string) *grpc.ClientConn {
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func get(t *testing.T, url string) string {
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// waitFor polls cond until it holds or ten seconds pass.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
