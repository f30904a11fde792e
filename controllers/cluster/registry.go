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

package cluster

import (
	"flag"
	"fmt"
	"slices"

	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/plinth-dev/plinth/controllers/cluster/nodegone"
	"github.com/plinth-dev/plinth/controllers/cluster/nodeipam"
	"github.com/plinth-dev/plinth/controllers/cluster/nodelabel"
	"github.com/plinth-dev/plinth/controllers/cluster/nodepicker"
	"github.com/plinth-dev/plinth/controllers/cluster/snapshot"
	"github.com/plinth-dev/plinth/controllers/cluster/snapshotschedule"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// Controller is one entry of plinth-controller's registry.
type Controller struct {
	// Name identifies the controller: its flag is --enable-<Name> and its
	// RBAC role plinth-controller-<Name>.
	Name string
	// Enabled says whether the controller runs; the flag sets it, and the
	// registry gives the default.
	Enabled bool
	// Setup builds the controller's reconcilers from mgr and registers them
	// with it.
	Setup func(mgr ctrl.Manager) error
}

// registry lists every controller plinth-controller can run, in setup order.
// To add one, add a package under controllers/cluster with a ControllerName
// constant, its +kubebuilder:rbac markers and a reconciler with
// SetupWithManager(mgr), and one entry here; its API group must be in the
// manager's scheme.
var registry = []Controller{
	{Name: nodeipam.ControllerName, Enabled: true, Setup: func(mgr ctrl.Manager) error {
		r := &nodeipam.Reconciler{
			Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder(mgr, nodeipam.ControllerName),
		}
		return r.SetupWithManager(mgr)
	}},
	{Name: nodepicker.ControllerName, Enabled: true, Setup: func(mgr ctrl.Manager) error {
		p := &nodepicker.Picker{
			Client: mgr.GetClient(), Recorder: recorder(mgr, nodepicker.ControllerName), DriverName: wellknown.DriverName,
		}
		return p.SetupWithManager(mgr)
	}},
	{Name: nodegone.ControllerName, Enabled: true, Setup: func(mgr ctrl.Manager) error {
		r := &nodegone.Reconciler{Client: mgr.GetClient(), Recorder: recorder(mgr, nodegone.ControllerName)}
		return r.SetupWithManager(mgr)
	}},
	{Name: nodelabel.ControllerName, Enabled: true, Setup: func(mgr ctrl.Manager) error {
		return (&nodelabel.Reconciler{Client: mgr.GetClient(), DriverName: wellknown.DriverName}).SetupWithManager(mgr)
	}},
	{Name: snapshot.ControllerName, Enabled: true, Setup: func(mgr ctrl.Manager) error {
		r := &snapshot.Reconciler{Client: mgr.GetClient(), Recorder: recorder(mgr, snapshot.ControllerName)}
		if err := r.SetupWithManager(mgr); err != nil {
			return err
		}
		return (&snapshot.OrphanContents{Client: mgr.GetClient()}).SetupWithManager(mgr)
	}},
	{Name: snapshotschedule.ControllerName, Enabled: true, Setup: func(mgr ctrl.Manager) error {
		// Its SetupWithManager takes the client, the clock and the
		// recorder from mgr.
		return (&snapshotschedule.Reconciler{MinInterval: scheduleMinInterval}).SetupWithManager(mgr)
	}},
}

// scheduleMinInterval is the SnapshotSchedule controller's minimum interval
// between runs, set by --snapshotschedule-min-interval.
var scheduleMinInterval = snapshotschedule.DefaultMinInterval

// recorder returns the event recorder of the controller named name.
func recorder(mgr ctrl.Manager, name string) events.EventRecorder {
	return mgr.GetEventRecorder("plinth-" + name)
}

// DefaultControllers returns a copy of the registry, with the default
// enablement.
func DefaultControllers() []Controller {
	return slices.Clone(registry)
}

// BindFlags adds an --enable-<name> flag for each controller, bound to its
// Enabled field, and the flags that tune the controllers
// (--snapshotschedule-min-interval).
func BindFlags(fs *flag.FlagSet, controllers []Controller) {
	for i := range controllers {
		c := &controllers[i]
		fs.BoolVar(&c.Enabled, "enable-"+c.Name, c.Enabled, fmt.Sprintf("Run the %s controller.", c.Name))
	}
	fs.DurationVar(&scheduleMinInterval, "snapshotschedule-min-interval", snapshotschedule.DefaultMinInterval,
		"Shortest time between two runs of a SnapshotSchedule; schedules that fire more often are refused.")
}

// SetupWithManager registers the enabled controllers with mgr.
func SetupWithManager(mgr ctrl.Manager, controllers []Controller) error {
	log := mgr.GetLogger()
	for _, c := range controllers {
		if !c.Enabled {
			log.Info("Controller disabled", "controller", c.Name)
			continue
		}
		if err := c.Setup(mgr); err != nil {
			return fmt.Errorf("failed to set up controller %s: %w", c.Name, err)
		}
		log.Info("Controller enabled", "controller", c.Name)
	}
	return nil
}
