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
