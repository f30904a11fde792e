package app_test

import (
	"context"
	"flag"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/plinth-dev/plinth/cmd/plinth-controller/app"
)

// A controller is one registry entry: a name, whether it runs by default,
// and a SetupFunc. In plinth-controller the entry is one line in the
// registry in controllers.go; this example appends one to show the shape.
func ExampleBindControllerFlags() {
	setup := func(_ context.Context, mgr ctrl.Manager) error {
		// Build the reconciler from mgr and call ctrl.NewControllerManagedBy(mgr).
		return nil
	}
	controllers := append(app.DefaultControllers(), app.Controller{Name: "volume-report", Enabled: true, Setup: setup})
	fs := flag.NewFlagSet("plinth-controller", flag.ContinueOnError)
	app.BindControllerFlags(fs, controllers)
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
