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

package agent_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	networkv1alpha1 "github.com/plinth-dev/plinth/apis/network/v1alpha1"
	"github.com/plinth-dev/plinth/cni-plugin/agent"
)

func clusterNetwork(cidrs ...string) *networkv1alpha1.ClusterNetwork {
	return &networkv1alpha1.ClusterNetwork{
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
		Spec: networkv1alpha1.ClusterNetworkSpec{
			PodCIDRs: cidrs, Mode: networkv1alpha1.ModeVXLAN, MTU: ptr.To[int32](1400), Masquerade: ptr.To(false),
		},
	}
}

func kubeadmConfig(podSubnet string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kubeadm-config"},
		Data: map[string]string{"ClusterConfiguration": "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n" +
			"networking:\n  podSubnet: " + podSubnet + "\n  serviceSubnet: 10.96.0.0/12\n"},
	}
}

func newScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := networkv1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// forbidConfigMaps answers reads of ConfigMaps as an API server does when
// RBAC does not allow them.
var forbidConfigMaps = interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*corev1.ConfigMap); ok {
		return apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, key.Name, errors.New("RBAC"))
	}
	return c.Get(ctx, key, obj, opts...)
}}

func TestClusterSettingsTakeCIDRsFromTheFirstSourceThatHasThem(t *testing.T) {
	tests := []struct {
		name        string
		objects     []client.Object
		funcs       interceptor.Funcs
		flags       []string
		wantCIDRs   string
		wantSource  agent.CIDRSource
		wantOverlay bool
	}{
		{"ClusterNetwork over everything", []client.Object{clusterNetwork("10.1.0.0/16"), kubeadmConfig("10.3.0.0/16")}, interceptor.Funcs{},
			[]string{"10.2.0.0/16"}, "[10.1.0.0/16]", agent.CIDRSourceClusterNetwork, true},
		{"flag over kubeadm", []client.Object{kubeadmConfig("10.3.0.0/16")}, interceptor.Funcs{},
			[]string{"10.2.0.0/16"}, "[10.2.0.0/16]", agent.CIDRSourceFlag, false},
		{"kubeadm, dual-stack", []client.Object{kubeadmConfig("10.3.0.0/16,fd00:3::/56")}, interceptor.Funcs{},
			nil, "[10.3.0.0/16 fd00:3::/56]", agent.CIDRSourceKubeadm, false},
		{"kubeadm-config not readable: the Nodes", []client.Object{kubeadmConfig("10.3.0.0/16")}, forbidConfigMaps,
			nil, "[10.244.1.0/24]", agent.CIDRSourceNodes, false},
		{"no kubeadm-config: the Nodes", nil, interceptor.Funcs{}, nil, "[10.244.1.0/24]", agent.CIDRSourceNodes, false},
		{"podSubnet that does not parse: the Nodes", []client.Object{kubeadmConfig("10.3.0.0/99")}, interceptor.Funcs{},
			nil, "[10.244.1.0/24]", agent.CIDRSourceNodes, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reader := fake.NewClientBuilder().WithScheme(newScheme(t)).WithObjects(tt.objects...).WithInterceptorFuncs(tt.funcs).Build()
			flags := agent.Config{NodeName: "n1", ClusterCIDRs: tt.flags, Mode: agent.ModeAuto, Masquerade: true}
			cfg, err := agent.ClusterSettings(reader)(t.Context(), flags)
			if err != nil {
				t.Fatal(err)
			}
			a, err := agent.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			cidrs, source := a.ClusterCIDRs([]corev1.Node{node("n1", "10.244.1.0/24")})
			if fmt.Sprint(cidrs) != tt.wantCIDRs || source != tt.wantSource {
				t.Errorf("cluster CIDRs %v from %s, want %s from %s", cidrs, source, tt.wantCIDRs, tt.wantSource)
			}
			overlaid := cfg.Mode == agent.ModeVXLAN && cfg.PodMTU == 1400 && !cfg.Masquerade
			if overlaid != tt.wantOverlay {
				t.Errorf("ClusterNetwork overlay applied = %v (%+v), want %v", overlaid, cfg, tt.wantOverlay)
			}
		})
	}
}

// A failure to read a source is returned, for the reconciler to retry,
// rather than skipped to a source that would be wrong.
func TestClusterSettingsReturnReadErrors(t *testing.T) {
	failing := interceptor.Funcs{Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
		return apierrors.NewServiceUnavailable("etcd is down")
	}}
	reader := fake.NewClientBuilder().WithScheme(newScheme(t)).WithInterceptorFuncs(failing).Build()
	if _, err := agent.ClusterSettings(reader)(t.Context(), agent.Config{NodeName: "n1"}); err == nil {
		t.Error("ClusterSettings hid a failed read")
	}
}

func node(name string, cidrs ...string) corev1.Node {
	return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{PodCIDRs: cidrs}}
}
