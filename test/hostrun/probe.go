package hostrun

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func hasHTTPReadinessProbe(c *corev1.Container) bool {
	return c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil
}

// probeReadiness runs the container's httpGet readiness probe against the
// port it was given on the host, every periodSeconds, until ctx ends.
// Containers without one are ready while they run (setRunning).
func (w *podWorker) probeReadiness(ctx context.Context, c *container) {
	if c.init || !hasHTTPReadinessProbe(c.spec) {
		return
	}
	probe := c.spec.ReadinessProbe
	url := w.probeURL(c.spec, probe.HTTPGet)
	period := seconds(probe.PeriodSeconds, 10)
	client := &http.Client{
		Timeout: seconds(probe.TimeoutSeconds, 1),
		// The kubelet does not verify probe certificates either.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // see above
	}
	delay := time.Duration(probe.InitialDelaySeconds) * time.Second
	ready, successes, failures := false, 0, 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = period
		if probeHTTP(ctx, client, url, probe.HTTPGet.HTTPHeaders) {
			successes, failures = successes+1, 0
		} else {
			successes, failures = 0, failures+1
		}
		if next := nextReady(ready, successes, failures, probe); next != ready {
			ready = next
			w.setReady(c, ready)
		}
	}
}

// nextReady applies the probe's success and failure thresholds.
func nextReady(ready bool, successes, failures int, probe *corev1.Probe) bool {
	switch {
	case successes >= int(max(probe.SuccessThreshold, 1)):
		return true
	case failures >= int(max(probe.FailureThreshold, 1)):
		return false
	}
	return ready
}

// probeURL points the probe at 127.0.0.1 and the host port mapped to its
// (named or numbered) container port.
func (w *podWorker) probeURL(c *corev1.Container, get *corev1.HTTPGetAction) string {
	port := get.Port.IntVal
	if get.Port.Type == intstr.String {
		for _, p := range c.Ports {
			if p.Name == get.Port.StrVal {
				port = p.ContainerPort
			}
		}
	}
	w.mu.Lock()
	if mapped, ok := w.ports[port]; ok {
		port = mapped
	}
	w.mu.Unlock()
	scheme := strings.ToLower(string(get.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := get.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return scheme + "://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))) + path
}

func probeHTTP(ctx context.Context, client *http.Client, url string, headers []corev1.HTTPHeader) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	for _, h := range headers {
		req.Header.Add(h.Name, h.Value)
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

func seconds(value, def int32) time.Duration {
	if value <= 0 {
		value = def
	}
	return time.Duration(value) * time.Second
}
