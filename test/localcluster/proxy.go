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
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// apiProxy forwards TCP connections from a loopback port of this machine's
// network namespace to the API server inside the cluster's, so that the
// harness, kubectl and helm reach the cluster without any interface or
// route of the machine changing.
type apiProxy struct {
	listener net.Listener
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	target   string
	wg       sync.WaitGroup
}

// startAPIProxy listens on addr (host:port; port 0 picks one).
func startAPIProxy(addr, netns, target string) (*apiProxy, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("failed to listen on %s: %w", addr, err)
	}
	p := &apiProxy{listener: l, dial: dialIn(netns), target: target}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the proxy's loopback address.
func (p *apiProxy) Addr() string { return p.listener.Addr().String() }

func (p *apiProxy) serve() {
	defer p.wg.Done()
	for {
		conn, err := p.listener.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.forward(conn)
		}()
	}
}

func (p *apiProxy) forward(in net.Conn) {
	defer func() { _ = in.Close() }()
	out, err := p.dial(context.Background(), "tcp", p.target)
	if err != nil {
		return
	}
	defer func() { _ = out.Close() }()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(out, in)
	go pipe(in, out)
	<-done
	<-done
}

// Close stops accepting; open connections end when either side closes.
func (p *apiProxy) Close() error {
	if err := p.listener.Close(); err != nil {
		return fmt.Errorf("failed to close the API proxy: %w", err)
	}
	return nil
}
