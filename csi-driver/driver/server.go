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

package driver

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/go-logr/logr"
	"github.com/kubernetes-csi/csi-lib-utils/metrics"
	"github.com/kubernetes-csi/csi-lib-utils/protosanitizer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// NewGRPCServer returns a gRPC server with the Identity, Controller and Node
// services registered. Every call is logged (secrets stripped) and, when
// recorder is not nil, recorded as csi-lib-utils operation metrics.
func NewGRPCServer(d *Driver, recorder metrics.CSIMetricsManager) *grpc.Server {
	srv := grpc.NewServer(grpc.UnaryInterceptor(interceptor(d.log, recorder)))
	csi.RegisterIdentityServer(srv, &IdentityServer{d: d})
	csi.RegisterControllerServer(srv, &ControllerServer{d: d})
	csi.RegisterNodeServer(srv, &NodeServer{d: d})
	return srv
}

// interceptor logs each call with the method name and puts that logger into
// the context. Requests and responses are logged at V(5) only: secrets are
// stripped, but volume contexts may still carry tokens.
func interceptor(log logr.Logger, recorder metrics.CSIMetricsManager) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		l := log.WithValues("method", info.FullMethod)
		l.V(5).Info("Request", "request", protosanitizer.StripSecrets(req))
		start := time.Now()
		resp, err := handler(logr.NewContext(ctx, l), req)
		elapsed := time.Since(start)
		if recorder != nil {
			recorder.RecordMetrics(info.FullMethod, err, elapsed)
		}
		if err != nil {
			l.Error(err, "Call failed", "code", status.Code(err), "duration", elapsed)
			return resp, err
		}
		l.V(4).Info("Call succeeded", "duration", elapsed)
		l.V(5).Info("Response", "response", protosanitizer.StripSecrets(resp))
		return resp, nil
	}
}

// Listen opens the unix socket named by endpoint ("unix:///path" or a plain
// path), replacing a stale socket left by an earlier run.
func Listen(endpoint string) (net.Listener, error) {
	path, err := socketPath(endpoint)
	if err != nil {
		return nil, err
	}
	if err := checkSocketPath(path); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("failed to create socket directory: %w", err)
	}
	if err := removeStaleSocket(path); err != nil {
		return nil, err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("failed to listen on %s: %w", path, err)
	}
	return l, nil
}

func socketPath(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("failed to parse endpoint %q: %w", endpoint, err)
	}
	switch {
	case u.Scheme == "unix" && u.Path != "":
		return u.Path, nil
	case u.Scheme == "" && filepath.IsAbs(endpoint):
		return endpoint, nil
	default:
		return "", fmt.Errorf("failed to parse endpoint %q: want unix:///absolute/path", endpoint)
	}
}

// maxSocketPath is the longest path a unix socket address holds on Linux.
const maxSocketPath = 107

func checkSocketPath(path string) error {
	if len(path) > maxSocketPath {
		return fmt.Errorf("failed to listen on %s: unix socket paths are limited to %d bytes", path, maxSocketPath)
	}
	return nil
}

// removeStaleSocket removes path when it is a socket; anything else there is
// an error, so a typo cannot delete a real file.
func removeStaleSocket(path string) error {
	info, err := os.Lstat(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to inspect %s: %w", path, err)
	}
	if info.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("failed to listen on %s: it exists and is not a socket", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("failed to remove stale socket %s: %w", path, err)
	}
	return nil
}
