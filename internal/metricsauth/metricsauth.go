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

package metricsauth

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// Options returns the options of a manager's metrics server on addr ("0"
// disables it). Unless insecure, it serves HTTPS (with a self-signed
// certificate unless certDir holds tls.crt and tls.key) and lets through
// only requests whose bearer token the API server authenticates and
// authorizes for "get" on the path, over HTTP/1.1 only. extra are further handlers, such as
// the CSI driver's metrics, behind the same filter.
func Options(addr, certDir string, insecure bool, extra map[string]http.Handler) metricsserver.Options {
	opts := metricsserver.Options{BindAddress: BindAddress(addr), ExtraHandlers: extra}
	if insecure {
		return opts
	}
	opts.SecureServing = true
	opts.FilterProvider = filters.WithAuthenticationAndAuthorization
	opts.CertDir = certDir
	opts.TLSOpts = []func(*tls.Config){disableHTTP2}
	return opts
}

// disableHTTP2 serves HTTP/1.1 only, as kubebuilder's scaffold does by
// default: HTTP/2 stream cancellation ("Rapid Reset", CVE-2023-44487) is a
// denial of service that needs no credentials.
func disableHTTP2(c *tls.Config) {
	c.NextProtos = []string{"http/1.1"}
}

// BindAddress returns addr with an IPv6 host put in brackets, as
// net.Listen needs it: an address built as "$(POD_IP):port" from the
// downward API has none. Anything else is returned unchanged.
func BindAddress(addr string) string {
	i := strings.LastIndex(addr, ":")
	if i < 0 || strings.HasPrefix(addr, "[") {
		return addr
	}
	host, port := addr[:i], addr[i+1:]
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() {
		return net.JoinHostPort(host, port)
	}
	return addr
}
