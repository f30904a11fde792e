package app

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	networkv1alpha1 "github.com/plinth-dev/plinth/apis/network/v1alpha1"
	"github.com/plinth-dev/plinth/cni-plugin/agent"
)

// plinth-node reads the ClusterNetwork by name, once at start.
// +kubebuilder:rbac:groups=network.plinth.dev,resources=clusternetworks,verbs=get

// setupNetwork registers the network agent. The cluster's ClusterNetwork
// ("default"), when it exists, decides pod CIDRs, mode, MTU and masquerade
// over the flags; a change to it takes effect at plinth-node's next start.
func setupNetwork(ctx context.Context, mgr ctrl.Manager, base agent.Config) error {
	cfg, err := withClusterNetwork(ctx, mgr.GetAPIReader(), base)
	if err != nil {
		return err
	}
	a, err := agent.New(cfg)
	if err != nil {
		return fmt.Errorf("failed to create the network agent: %w", err)
	}
	if err := (&agent.Reconciler{Client: mgr.GetClient(), Agent: a}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("failed to set up the network agent: %w", err)
	}
	return nil
}

// withClusterNetwork overlays the ClusterNetwork's settings on the flags.
func withClusterNetwork(ctx context.Context, reader client.Reader, cfg agent.Config) (agent.Config, error) {
	cn := &networkv1alpha1.ClusterNetwork{}
	err := reader.Get(ctx, client.ObjectKey{Name: "default"}, cn)
	if client.IgnoreNotFound(err) != nil && !meta.IsNoMatchError(err) {
		return cfg, fmt.Errorf("failed to read the ClusterNetwork: %w", err)
	}
	if err != nil {
		return cfg, nil // none: the flags decide
	}
	cfg.ClusterCIDRs = cn.Spec.PodCIDRs
	if cn.Spec.Mode != "" {
		cfg.Mode = agent.Mode(cn.Spec.Mode)
	}
	if cn.Spec.MTU != nil {
		cfg.PodMTU = int(*cn.Spec.MTU)
	}
	if cn.Spec.Masquerade != nil {
		cfg.Masquerade = *cn.Spec.Masquerade
	}
	return cfg, nil
}
