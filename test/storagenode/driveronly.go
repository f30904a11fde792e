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

package storagenode

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/plinth-dev/plinth/cmd/plinth-node/app"
	"github.com/plinth-dev/plinth/csi-driver/plugin"
	"github.com/plinth-dev/plinth/csi-driver/topology"
)

// runDriver runs the node plugin of cfg alone, as plinth-node runs it but
// without the node controllers: its topology follows the node's own Node
// object through an informer of that one Node.
func runDriver(ctx context.Context, cfg app.Config) error {
	clientset, err := kubernetes.NewForConfig(rest.CopyConfig(cfg.RestConfig))
	if err != nil {
		return fmt.Errorf("failed to create the driver's client: %w", err)
	}
	factory := informers.NewSharedInformerFactoryWithOptions(clientset, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", cfg.Plugin.NodeName).String()
		}))
	node := topology.NewNode(cfg.Plugin.NodeName, cfg.Plugin.Logger.WithName("topology"))
	if err := node.Watch(ctx, factory.Core().V1().Nodes().Informer()); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	pluginCfg := cfg.Plugin
	pluginCfg.Topology = node
	if pluginCfg.Status == nil {
		pluginCfg.Status = &plugin.Status{}
	}
	return plugin.Run(ctx, pluginCfg)
}
