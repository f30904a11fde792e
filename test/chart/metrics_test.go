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

package chart_test

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The endpoints on the host network: metrics served authenticated (no
// --metrics-secure=false) and scrapable with the metrics-reader
// ClusterRole, the plain CSI metrics on loopback and out of the Service,
// the probes bound to the pod IP, the processes allowed to review tokens
// and access, and ServiceMonitors that scrape over HTTPS with a token.
func TestRenderMetricsAreAuthenticatedAndProbesOnThePodIP(t *testing.T) {
	m := renderChart(t, "--set", "metrics.serviceMonitor.enabled=true",
		"--set", "metrics.readers[0].kind=ServiceAccount,metrics.readers[0].name=prometheus,metrics.readers[0].namespace=monitoring")
	var ds appsv1.DaemonSet
	m.decode(t, "DaemonSet", renderFullname+"-node", &ds)
	node := renderContainer(t, ds.Spec.Template.Spec.Containers, "plinth-node")
	renderWantArgs(t, "plinth-node", node.Args, "--metrics-bind-address=:9809",
		"--csi-metrics-bind-address=127.0.0.1:9808", "--health-probe-bind-address=$(POD_IP):9810")
	assertPodIPEnv(t, "plinth-node", node)
	var d appsv1.Deployment
	m.decode(t, "Deployment", renderFullname+"-controller", &d)
	ctrl := renderContainer(t, d.Spec.Template.Spec.Containers, "plinth-controller")
	renderWantArgs(t, "plinth-controller", ctrl.Args, "--health-probe-bind-address=$(POD_IP):9813")
	assertPodIPEnv(t, "plinth-controller", ctrl)
	for _, c := range []corev1.Container{node, ctrl} {
		for _, a := range c.Args {
			if strings.HasPrefix(a, "--metrics-secure") {
				t.Errorf("%s: %s; the metrics must stay authenticated", c.Name, a)
			}
		}
		for _, p := range c.Ports {
			if p.Name == "csi-metrics" {
				t.Errorf("%s exposes the plain CSI metrics port %d", c.Name, p.ContainerPort)
			}
		}
	}
	var svc corev1.Service
	m.decode(t, "Service", renderFullname+"-node-metrics", &svc)
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "metrics" {
		t.Errorf("node metrics Service ports %+v, want only metrics", svc.Spec.Ports)
	}

	var reader rbacv1.ClusterRole
	m.decode(t, "ClusterRole", renderFullname+"-metrics-reader", &reader)
	if len(reader.Rules) != 1 || !slices.Equal(reader.Rules[0].NonResourceURLs, []string{"/metrics", "/metrics/csi"}) ||
		!slices.Equal(reader.Rules[0].Verbs, []string{"get"}) {
		t.Errorf("metrics-reader rules %+v, want get on /metrics and /metrics/csi", reader.Rules)
	}
	var binding rbacv1.ClusterRoleBinding
	m.decode(t, "ClusterRoleBinding", renderFullname+"-metrics-reader", &binding)
	if len(binding.Subjects) != 1 || binding.Subjects[0].Name != "prometheus" || binding.RoleRef.Name != reader.Name {
		t.Errorf("metrics-reader binding %+v", binding)
	}
	for _, role := range []string{renderFullname + "-node", renderFullname + "-controller"} {
		var cr rbacv1.ClusterRole
		m.decode(t, "ClusterRole", role, &cr)
		for _, want := range []string{"authentication.k8s.io/tokenreviews", "authorization.k8s.io/subjectaccessreviews"} {
			if !grants(cr.Rules, want, "create") {
				t.Errorf("%s cannot create %s, which its metrics endpoint needs", role, want)
			}
		}
	}

	monitors := m.ofKind("ServiceMonitor")
	if len(monitors) != 2 {
		t.Fatalf("%d ServiceMonitors, want 2", len(monitors))
	}
	for _, sm := range monitors {
		endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
		var paths []string
		for _, e := range endpoints {
			ep, _ := e.(map[string]any)
			token, _ := ep["bearerTokenFile"].(string)
			if ep["scheme"] != "https" || ep["port"] != "metrics" || token == "" {
				t.Errorf("%s endpoint %v: want https on port metrics with a bearer token", sm.GetName(), ep)
			}
			path, _ := ep["path"].(string)
			paths = append(paths, path)
		}
		want := []string{"/metrics"}
		if strings.HasSuffix(sm.GetName(), "-node") {
			want = append(want, "/metrics/csi")
		}
		if !slices.Equal(paths, want) {
			t.Errorf("%s scrapes %v, want %v", sm.GetName(), paths, want)
		}
	}
}

func assertPodIPEnv(t *testing.T, what string, c corev1.Container) {
	t.Helper()
	for _, e := range c.Env {
		if e.Name == "POD_IP" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "status.podIP" {
			return
		}
	}
	t.Errorf("%s has no POD_IP from status.podIP: %+v", what, c.Env)
}

// grants reports whether rules allow verb on group/resource.
func grants(rules []rbacv1.PolicyRule, groupResource, verb string) bool {
	group, resource, _ := strings.Cut(groupResource, "/")
	for _, r := range rules {
		if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
			return true
		}
	}
	return false
}
