package agent_test

import (
	"os"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/plinth-dev/plinth/cni-plugin/agent"
)

// Wiring the agent into a controller-runtime manager, as plinth-node does.
func Example() {
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{})
	if err != nil {
		os.Exit(1)
	}
	a, err := agent.New(agent.Config{
		NodeName:     os.Getenv("NODE_NAME"),
		Mode:         agent.ModeAuto,
		Masquerade:   true,
		PluginBinary: "/usr/local/bin/plinth-cni",
	})
	if err != nil {
		os.Exit(1)
	}
	r := &agent.Reconciler{
		Client:   mgr.GetClient(),
		Agent:    a,
		Resolve:  agent.ClusterSettings(mgr.GetAPIReader()),
		Recorder: mgr.GetEventRecorder("plinth-network-agent"),
	}
	if err := r.SetupWithManager(mgr); err != nil {
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("network", r.ReadyzCheck); err != nil {
		os.Exit(1)
	}
	if err := a.NewSweeper().SetupWithManager(mgr); err != nil {
		os.Exit(1)
	}
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		os.Exit(1)
	}
}
