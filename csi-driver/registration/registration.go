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

package registration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync/atomic"

	"github.com/go-logr/logr"
	"google.golang.org/grpc"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// DefaultRegistryDir is where the kubelet watches for plugin sockets.
const DefaultRegistryDir = "/var/lib/kubelet/plugins_registry"

// supportedVersions are the CSI versions announced to the kubelet.
var supportedVersions = []string{"1.0.0"}

// SocketPath returns the registration socket for driverName in registryDir.
func SocketPath(registryDir, driverName string) string {
	return filepath.Join(registryDir, driverName+"-reg.sock")
}

// Server answers the kubelet's plugin watcher.
type Server struct {
	registerapi.UnimplementedRegistrationServer
	driverName string
	endpoint   string
	log        logr.Logger
	registered atomic.Bool
}

// NewServer returns a server announcing driverName, whose CSI socket the
// kubelet reaches at endpoint (a path in the kubelet's mount namespace).
func NewServer(driverName, endpoint string, log logr.Logger) *Server {
	return &Server{driverName: driverName, endpoint: endpoint, log: log}
}

// GetInfo tells the kubelet what the plugin is and where its CSI socket is.
func (s *Server) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	return &registerapi.PluginInfo{
		Type:              registerapi.CSIPlugin,
		Name:              s.driverName,
		Endpoint:          s.endpoint,
		SupportedVersions: supportedVersions,
	}, nil
}

// NotifyRegistrationStatus records the kubelet's verdict.
func (s *Server) NotifyRegistrationStatus(_ context.Context, st *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	s.registered.Store(st.GetPluginRegistered())
	if st.GetPluginRegistered() {
		s.log.Info("Registered with the kubelet", "driver", s.driverName)
	} else {
		s.log.Error(errors.New(st.GetError()), "Kubelet rejected the registration", "driver", s.driverName)
	}
	return &registerapi.RegistrationStatusResponse{}, nil
}

// Registered reports whether the kubelet accepted the last registration.
func (s *Server) Registered() bool {
	return s.registered.Load()
}

// Serve answers on l until ctx is done.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := grpc.NewServer()
	registerapi.RegisterRegistrationServer(srv, s)
	stop := context.AfterFunc(ctx, srv.GracefulStop)
	defer stop()
	if err := srv.Serve(l); err != nil {
		return fmt.Errorf("failed to serve plugin registration: %w", err)
	}
	return nil
}
