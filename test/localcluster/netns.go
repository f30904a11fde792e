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

package localcluster

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/containernetworking/plugins/pkg/ns"
)

// netnsPath is where `ip netns` keeps the named namespace.
func netnsPath(name string) string { return filepath.Join("/run/netns", name) }

// run runs a command and returns its output, or an error holding it.
func run(ctx context.Context, argv ...string) (string, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// runAll runs each command in order and stops at the first failure.
func runAll(ctx context.Context, cmds ...[]string) error {
	for _, argv := range cmds {
		if _, err := run(ctx, argv...); err != nil {
			return err
		}
	}
	return nil
}

// ipIn prefixes an ip(8) command with the namespace it acts in.
func ipIn(netns string, args ...string) []string {
	return append([]string{"ip", "-n", netns}, args...)
}

// dialIn returns a dialer whose connections are made from inside the named
// network namespace: a socket belongs to the namespace of the thread that
// created it, whatever thread uses it later.
func dialIn(netns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		target, err := ns.GetNS(netnsPath(netns))
		if err != nil {
			return nil, fmt.Errorf("failed to open network namespace %s: %w", netns, err)
		}
		defer func() { _ = target.Close() }()
		var conn net.Conn
		err = target.Do(func(ns.NetNS) error {
			var d net.Dialer
			var err error
			if conn, err = d.DialContext(ctx, network, addr); err != nil {
				return fmt.Errorf("failed to dial %s in %s: %w", addr, netns, err)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("failed to connect from %s: %w", netns, err)
		}
		return conn, nil
	}
}
