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

package csiconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Conn is a connection to a CSI driver with its service clients.
type Conn struct {
	Identity   csi.IdentityClient
	Controller csi.ControllerClient
	Node       csi.NodeClient

	cc *grpc.ClientConn
}

// Dial connects to the driver at endpoint ("unix:///path" or "/path"). The
// connection is lazy and reconnects by itself when the driver restarts.
// Extra options (such as interceptors) are applied after the defaults.
func Dial(endpoint string, extra ...grpc.DialOption) (*Conn, error) {
	path := strings.TrimPrefix(endpoint, "unix://")
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("failed to parse CSI endpoint %q: want unix:///absolute/path", endpoint)
	}
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", addr)
		}),
	}, extra...)
	cc, err := grpc.NewClient("passthrough:///"+path, opts...)
	if err != nil {
		return nil, fmt.Errorf("failed to connect to CSI driver at %s: %w", endpoint, err)
	}
	return &Conn{
		Identity:   csi.NewIdentityClient(cc),
		Controller: csi.NewControllerClient(cc),
		Node:       csi.NewNodeClient(cc),
		cc:         cc,
	}, nil
}

// Close closes the connection.
func (c *Conn) Close() error {
	if err := c.cc.Close(); err != nil {
		return fmt.Errorf("failed to close CSI connection: %w", err)
	}
	return nil
}

// WaitReady polls the driver's Probe until it reports ready or ctx ends.
func (c *Conn) WaitReady(ctx context.Context, interval time.Duration) error {
	for {
		resp, err := c.Identity.Probe(ctx, &csi.ProbeRequest{})
		if err == nil && (resp.GetReady() == nil || resp.GetReady().GetValue()) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CSI driver not ready: %w", errors.Join(ctx.Err(), err))
		case <-time.After(interval):
		}
	}
}

// DriverName asks the driver for its name.
func (c *Conn) DriverName(ctx context.Context) (string, error) {
	resp, err := c.Identity.GetPluginInfo(ctx, &csi.GetPluginInfoRequest{})
	if err != nil {
		return "", fmt.Errorf("failed to get CSI plugin info: %w", err)
	}
	return resp.GetName(), nil
}
