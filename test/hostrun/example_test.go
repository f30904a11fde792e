package hostrun_test

import (
	"context"
	"fmt"

	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/hostrun"
)

// Start plays the kubelet for the simulated nodes of a control plane, so
// that the pods of a chart installed into it run as host processes built
// into bin/ (image ghcr.io/plinth-dev/plinth-node runs bin/plinth-node).
func ExampleStart() {
	ctx := context.Background()
	cp, err := controlplane.Start(ctx, controlplane.Options{Nodes: []controlplane.NodeSpec{{Name: "node-1"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = cp.Stop() }()
	runner, err := hostrun.Start(ctx, hostrun.Options{
		Config:      cp.Config,
		Nodes:       []string{"node-1"},
		Root:        "/tmp/plinth-nodes",
		BinDir:      "bin",
		ImagePrefix: "ghcr.io/plinth-dev/",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = runner.Stop() }()
	// Install the chart with cp.KubeconfigPath, then read runner.LogFiles().
}
