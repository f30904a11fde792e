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

package agent

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	networkv1alpha1 "github.com/plinth-dev/plinth/apis/network/v1alpha1"
)

// The ClusterNetwork is read by name, and kubeadm's ClusterConfiguration
// too: the rule names the ConfigMap. It is cluster-wide, because the
// chart binds plinth-node's namespaced rules in its own namespace only.
// +kubebuilder:rbac:groups=network.plinth.dev,resources=clusternetworks,verbs=get
// +kubebuilder:rbac:groups="",resources=configmaps,resourceNames=kubeadm-config,verbs=get

// kubeadmConfig is where kubeadm keeps the ClusterConfiguration it
// installed the cluster with.
var kubeadmConfig = client.ObjectKey{Namespace: "kube-system", Name: "kubeadm-config"}

// ClusterSettings returns a Reconciler.Resolve function that overlays the
// cluster's settings, read through reader, on the flags in cfg. The
// ClusterNetwork "default", when it exists, decides pod CIDRs, mode, MTU and
// masquerade. The cluster CIDRs come from the first source that has them:
// the ClusterNetwork, the flags, kubeadm's ClusterConfiguration (when
// plinth-node may read it), and otherwise the Nodes' pod CIDRs, which the
// Agent follows by itself.
func ClusterSettings(reader client.Reader) func(context.Context, Config) (Config, error) {
	return func(ctx context.Context, cfg Config) (Config, error) {
		cfg, err := withClusterNetwork(ctx, reader, cfg)
		if err != nil || len(cfg.ClusterCIDRs) > 0 {
			return cfg, err
		}
		cidrs, err := kubeadmPodSubnets(ctx, reader)
		if err != nil || len(cidrs) == 0 {
			return cfg, err
		}
		cfg.ClusterCIDRs, cfg.ClusterCIDRSource = cidrs, CIDRSourceKubeadm
		return cfg, nil
	}
}

// withClusterNetwork overlays the ClusterNetwork's settings on cfg.
func withClusterNetwork(ctx context.Context, reader client.Reader, cfg Config) (Config, error) {
	cn := &networkv1alpha1.ClusterNetwork{}
	err := reader.Get(ctx, client.ObjectKey{Name: "default"}, cn)
	if client.IgnoreNotFound(err) != nil && !meta.IsNoMatchError(err) {
		return cfg, fmt.Errorf("failed to read the ClusterNetwork: %w", err)
	}
	if err != nil {
		return cfg, nil // none: the flags decide
	}
	cfg.ClusterCIDRs, cfg.ClusterCIDRSource = cn.Spec.PodCIDRs, CIDRSourceClusterNetwork
	if cn.Spec.Mode != "" {
		cfg.Mode = Mode(cn.Spec.Mode)
	}
	if cn.Spec.MTU != nil {
		cfg.PodMTU = int(*cn.Spec.MTU)
	}
	if cn.Spec.Masquerade != nil {
		cfg.Masquerade = *cn.Spec.Masquerade
	}
	return cfg, nil
}

// kubeadmPodSubnets returns networking.podSubnet of kubeadm's
// ClusterConfiguration, the source Calico's operator uses too. A cluster
// not installed by kubeadm, a plinth-node not allowed to read it, or a
// podSubnet that does not parse yields none, and the next source decides.
func kubeadmPodSubnets(ctx context.Context, reader client.Reader) ([]string, error) {
	logger := log.FromContext(ctx).WithValues("configMap", kubeadmConfig)
	cm := &corev1.ConfigMap{}
	err := reader.Get(ctx, kubeadmConfig, cm)
	if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
		logger.V(1).Info("no kubeadm ClusterConfiguration to read", "reason", apierrors.ReasonForError(err))
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", kubeadmConfig, err)
	}
	cidrs, err := parsePodSubnet(cm.Data["ClusterConfiguration"])
	if err != nil {
		logger.Info("ignoring kubeadm's podSubnet", "error", err.Error())
		return nil, nil
	}
	return cidrs, nil
}

// parsePodSubnet extracts networking.podSubnet, comma-separated CIDRs, from
// a kubeadm ClusterConfiguration document.
func parsePodSubnet(doc string) ([]string, error) {
	var cc struct {
		Networking struct {
			PodSubnet string `json:"podSubnet"`
		} `json:"networking"`
	}
	if err := yaml.Unmarshal([]byte(doc), &cc); err != nil {
		return nil, fmt.Errorf("failed to parse the ClusterConfiguration: %w", err)
	}
	var cidrs []string
	for _, s := range strings.Split(cc.Networking.PodSubnet, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if _, err := netip.ParsePrefix(s); err != nil {
			return nil, fmt.Errorf("failed to parse podSubnet %q: %w", s, err)
		}
		cidrs = append(cidrs, s)
	}
	return cidrs, nil
}
