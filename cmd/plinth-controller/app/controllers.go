package app

import (
	"context"
	"flag"
	"fmt"
	"slices"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/plinth-dev/plinth/controllers/nodegone"
	"github.com/plinth-dev/plinth/controllers/nodeipam"
	"github.com/plinth-dev/plinth/controllers/nodepicker"
	"github.com/plinth-dev/plinth/controllers/snapshot"
	"github.com/plinth-dev/plinth/controllers/snapshotschedule"
)

// SetupFunc registers one controller (or a group of controllers that belong
// together) with the manager. It runs before the manager starts; ctx ends
// when plinth-controller stops.
type SetupFunc func(ctx context.Context, mgr ctrl.Manager) error

// Controller is one entry of plinth-controller's registry.
type Controller struct {
	// Name identifies the controller; its flag is --enable-<Name>.
	Name string
	// Enabled says whether the controller runs; the flag sets it, and the
	// registry gives the default.
	Enabled bool
	// Setup registers the controller with the manager.
	Setup SetupFunc
}

// registry lists every controller plinth-controller can run, in setup order.
// To add one, add one line here with a SetupFunc that builds the reconciler
// from the manager (mgr.GetClient(), mgr.GetEventRecorder(...)) and calls
// ctrl.NewControllerManagedBy(mgr); its RBAC comes from its own
// +kubebuilder:rbac markers, and its API group must be in Scheme.
var registry = []Controller{
	{Name: nodeipam.ControllerName, Enabled: true, Setup: nodeipam.Setup},
	{Name: nodepicker.ControllerName, Enabled: true, Setup: nodepicker.Setup},
	{Name: nodegone.ControllerName, Enabled: true, Setup: nodegone.Setup},
	{Name: snapshot.ControllerName, Enabled: true, Setup: snapshot.Setup},
	{Name: snapshotschedule.ControllerName, Enabled: true, Setup: func(_ context.Context, mgr ctrl.Manager) error {
		return (&snapshotschedule.Reconciler{}).SetupWithManager(mgr)
	}},
}

// DefaultControllers returns a copy of the registry, with the default
// enablement.
func DefaultControllers() []Controller {
	return slices.Clone(registry)
}

// BindControllerFlags adds an --enable-<name> flag for each controller,
// bound to its Enabled field.
func BindControllerFlags(fs *flag.FlagSet, controllers []Controller) {
	for i := range controllers {
		c := &controllers[i]
		fs.BoolVar(&c.Enabled, "enable-"+c.Name, c.Enabled, fmt.Sprintf("Run the %s controller.", c.Name))
	}
}

// setupControllers registers the enabled controllers.
func setupControllers(ctx context.Context, mgr ctrl.Manager, controllers []Controller) error {
	log := ctrl.LoggerFrom(ctx)
	for _, c := range controllers {
		if !c.Enabled {
			log.Info("Controller disabled", "controller", c.Name)
			continue
		}
		if err := c.Setup(ctx, mgr); err != nil {
			return fmt.Errorf("failed to set up controller %s: %w", c.Name, err)
		}
		log.Info("Controller enabled", "controller", c.Name)
	}
	return nil
}
