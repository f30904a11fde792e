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

package cluster_test

import (
	"flag"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/plinth-dev/plinth/controllers/cluster"
)

// A controller is one registry entry: a name, whether it runs by default,
// and a Setup function. In plinth-controller the entry is in the registry
// of registry.go; this example appends one to show the shape.
func ExampleBindFlags() {
	setup := func(mgr ctrl.Manager) error {
		// Build the reconciler from mgr and call its SetupWithManager(mgr).
		return nil
	}
	controllers := append(cluster.DefaultControllers(), cluster.Controller{Name: "volume-report", Enabled: true, Setup: setup})
	fs := flag.NewFlagSet("plinth-controller", flag.ContinueOnError)
	cluster.BindFlags(fs, controllers)
	_ = fs.Parse([]string{"--enable-volume-report=false", "--enable-node-ipam=false"})
	for _, c := range controllers {
		if c.Name == "volume-report" || c.Name == "node-ipam" {
			fmt.Println(c.Name, c.Enabled)
		}
	}
	// Output:
	// node-ipam false
	// volume-report false
}
