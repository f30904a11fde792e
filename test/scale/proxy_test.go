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

package scale

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// traffic is what one client exchanged with kube-apiserver through a
// counting proxy.
type traffic struct {
	requests, writes, watches, events, bytes atomic.Int64
}

// trafficCounts is a snapshot of traffic.
type trafficCounts struct {
	requests, writes, watches, events, bytes int64
}

func (t *traffic) snapshot() trafficCounts {
	return trafficCounts{
		requests: t.requests.Load(), writes: t.writes.Load(), watches: t.watches.Load(),
		events: t.events.Load(), bytes: t.bytes.Load(),
	}
}

func (c trafficCounts) since(before trafficCounts) trafficCounts {
	return trafficCounts{
		requests: c.requests - before.requests, writes: c.writes - before.writes, watches: c.watches - before.watches,
		events: c.events - before.events, bytes: c.bytes - before.bytes,
	}
}

// countingProxy forwards a client's plain-HTTP requests to kube-apiserver
// with the admin's credentials, counting requests (watches apart) and, in
// every response, the bytes and the watch events.
type countingProxy struct {
	traffic
	server *http.Server
	addr   string
}

// startProxy starts a counting proxy to the API server of cfg and returns
// it and a kubeconfig that reaches the API server through it.
func startProxy(tb testing.TB, cfg *rest.Config, name string) (*countingProxy, string) {
	tb.Helper()
	target, err := url.Parse(cfg.Host)
	if err != nil {
		tb.Fatalf("failed to parse the API server's address: %v", err)
	}
	transport, err := rest.TransportFor(cfg)
	if err != nil {
		tb.Fatalf("failed to build the proxy's transport: %v", err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("failed to listen for the proxy: %v", err)
	}
	p := &countingProxy{addr: listener.Addr().String()}
	proxy := &httputil.ReverseProxy{
		Rewrite:        func(r *httputil.ProxyRequest) { r.SetURL(target); r.Out.Host = target.Host },
		Transport:      transport,
		FlushInterval:  -1,
		ModifyResponse: p.wrap,
	}
	p.server = &http.Server{Handler: p.count(proxy)}
	go func() { _ = p.server.Serve(listener) }()
	tb.Cleanup(func() { _ = p.server.Close() })
	return p, writeKubeconfig(tb, "http://"+p.addr, name)
}

// count counts a request by kind before forwarding it.
func (p *countingProxy) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1":
			p.watches.Add(1)
		case r.Method == http.MethodGet:
			p.requests.Add(1)
		default:
			p.requests.Add(1)
			p.writes.Add(1)
		}
		next.ServeHTTP(w, r)
	})
}

// wrap counts a response's bytes and, for a watch, its events.
func (p *countingProxy) wrap(resp *http.Response) error {
	framing := frameNone
	if q := resp.Request.URL.Query().Get("watch"); q == "true" || q == "1" {
		framing = frameJSON
		if strings.Contains(resp.Header.Get("Content-Type"), "protobuf") {
			framing = frameProtobuf
		}
	}
	resp.Body = &countingBody{ReadCloser: resp.Body, t: &p.traffic, framing: framing}
	return nil
}

// Framings of a watch stream: JSON events end with a newline, protobuf
// events are prefixed with their 4-byte big-endian length.
const (
	frameNone = iota
	frameJSON
	frameProtobuf
)

// countingBody counts the bytes read through it and the watch events they
// hold.
type countingBody struct {
	io.ReadCloser
	t       *traffic
	framing int
	// header holds the part of a protobuf length prefix read so far;
	// remaining is what is left of the current protobuf event.
	header    []byte
	remaining int
}

func (c *countingBody) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	c.t.bytes.Add(int64(n))
	switch c.framing {
	case frameJSON:
		c.t.events.Add(int64(bytes.Count(b[:n], []byte{'\n'})))
	case frameProtobuf:
		c.countFrames(b[:n])
	}
	return n, err
}

// countFrames follows the length prefixes of a protobuf watch stream.
func (c *countingBody) countFrames(b []byte) {
	for len(b) > 0 {
		if c.remaining > 0 {
			skip := min(c.remaining, len(b))
			c.remaining, b = c.remaining-skip, b[skip:]
			continue
		}
		need := 4 - len(c.header)
		take := min(need, len(b))
		c.header, b = append(c.header, b[:take]...), b[take:]
		if len(c.header) == 4 {
			c.remaining = int(binary.BigEndian.Uint32(c.header))
			c.header = c.header[:0]
			c.t.events.Add(1)
		}
	}
}

// writeKubeconfig writes a kubeconfig for an unauthenticated plain-HTTP
// server, the proxy, and returns its path.
func writeKubeconfig(tb testing.TB, server, name string) string {
	tb.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	path := filepath.Join(tb.TempDir(), name+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		tb.Fatalf("failed to write the kubeconfig of %s: %v", name, err)
	}
	return path
}
