package snapshot

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
)

// ControllerName names the common snapshot controller in plinth-controller
// (--enable-snapshot-controller=false where the cluster runs upstream's).
const ControllerName = "snapshot-controller"

// Setup registers the common snapshot controller with a manager.
func Setup(_ context.Context, mgr ctrl.Manager) error {
	return SetupWithManager(mgr, &Controller{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("plinth-snapshot-controller")})
}
