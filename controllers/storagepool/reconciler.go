package storagepool

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
	"github.com/plinth-dev/plinth/csi-driver/backend/pool"
)

// Reconciler keeps the StoragePool of one node current.
type Reconciler struct {
	// Client reads Nodes and writes the StoragePool.
	Client client.Client
	// Identity is the driver's identity service, whose Probe gives Ready.
	Identity csi.IdentityClient
	// Controller is the driver's controller service, which gives the
	// available capacity and the volumes and snapshots to count.
	Controller csi.ControllerClient
	// DriverName is the CSI driver whose PVs and snapshot contents refresh the pool.
	DriverName string
	// NodeName is the node whose pool is described; the StoragePool has its name.
	NodeName string
	// Path is the pool directory as configured.
	Path string
	// OverProvisionRatio is the pool's over-provisioning ratio; zero means 1.
	OverProvisionRatio float64
	// PoolInfo describes the pool's filesystem, such as (*pool.Pool).Info.
	PoolInfo func() (pool.Info, error)
	// Resync is the period of the refresh that catches changes outside the
	// API; zero means one minute.
	Resync time.Duration
	// Timeout bounds the driver calls of one refresh; zero means 30s.
	Timeout time.Duration
}

// +kubebuilder:rbac:groups=storage.plinth.dev,resources=storagepools,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups=storage.plinth.dev,resources=storagepools/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=persistentvolumes,verbs=get;list;watch
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshotcontents,verbs=get;list;watch

// Reconcile creates or updates the node's StoragePool and refreshes its status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if req.Name != r.NodeName {
		return ctrl.Result{}, nil
	}
	node := &corev1.Node{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: r.NodeName}, node); err != nil {
		// Without its Node the pool would have no owner; the Node's
		// creation enqueues the pool again.
		return ctrl.Result{}, client.IgnoreNotFound(fmt.Errorf("failed to get node %s: %w", r.NodeName, err))
	}
	sp, err := r.ensurePool(ctx, node)
	if err != nil {
		return ctrl.Result{}, err
	}
	obs, err := r.observe(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.updateStatus(ctx, sp, obs); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: r.resync()}, nil
}

// ensurePool creates the node's StoragePool, or brings its spec and owner
// back to what they should be.
func (r *Reconciler) ensurePool(ctx context.Context, node *corev1.Node) (*storagev1alpha1.StoragePool, error) {
	sp := &storagev1alpha1.StoragePool{}
	err := r.Client.Get(ctx, client.ObjectKey{Name: r.NodeName}, sp)
	if apierrors.IsNotFound(err) {
		return r.createPool(ctx, node)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to get StoragePool %s: %w", r.NodeName, err)
	}
	base := sp.DeepCopy()
	sp.Spec = r.spec()
	if err := r.own(node, sp); err != nil {
		return nil, err
	}
	if equality.Semantic.DeepEqual(base, sp) {
		return sp, nil
	}
	if err := r.Client.Patch(ctx, sp, client.MergeFrom(base)); err != nil {
		return nil, fmt.Errorf("failed to update StoragePool %s: %w", r.NodeName, err)
	}
	log.FromContext(ctx).Info("Updated StoragePool", "storagePool", r.NodeName)
	return sp, nil
}

func (r *Reconciler) createPool(ctx context.Context, node *corev1.Node) (*storagev1alpha1.StoragePool, error) {
	sp := &storagev1alpha1.StoragePool{ObjectMeta: metav1.ObjectMeta{Name: r.NodeName}, Spec: r.spec()}
	if err := r.own(node, sp); err != nil {
		return nil, err
	}
	if err := r.Client.Create(ctx, sp); err != nil {
		return nil, fmt.Errorf("failed to create StoragePool %s: %w", r.NodeName, err)
	}
	log.FromContext(ctx).Info("Created StoragePool", "storagePool", r.NodeName, "path", r.Path)
	return sp, nil
}

// own makes the Node the pool's owner, so the pool goes away with the node.
func (r *Reconciler) own(node *corev1.Node, sp *storagev1alpha1.StoragePool) error {
	if err := controllerutil.SetOwnerReference(node, sp, r.Client.Scheme()); err != nil {
		return fmt.Errorf("failed to set the owner of StoragePool %s: %w", sp.Name, err)
	}
	return nil
}

func (r *Reconciler) spec() storagev1alpha1.StoragePoolSpec {
	return storagev1alpha1.StoragePoolSpec{
		NodeName:           r.NodeName,
		Path:               r.Path,
		OverProvisionRatio: ratioQuantity(r.OverProvisionRatio),
	}
}

// ratioQuantity turns an over-provisioning ratio into a quantity with
// milli precision; zero means 1, as in the pool.
func ratioQuantity(ratio float64) *resource.Quantity {
	if ratio == 0 {
		ratio = 1
	}
	// Clamped well inside int64, whose bound a float64 cannot hold exactly.
	milli := math.Round(min(ratio*1000, 1<<62))
	return resource.NewMilliQuantity(int64(milli), resource.DecimalSI)
}

// updateStatus writes the observation into the pool's status when it changed.
func (r *Reconciler) updateStatus(ctx context.Context, sp *storagev1alpha1.StoragePool, obs observation) error {
	base := sp.DeepCopy()
	applyStatus(&sp.Status, obs, sp.Generation)
	if equality.Semantic.DeepEqual(base.Status, sp.Status) {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, sp, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("failed to update the status of StoragePool %s: %w", sp.Name, err)
	}
	return nil
}

func (r *Reconciler) resync() time.Duration {
	if r.Resync == 0 {
		return time.Minute
	}
	return r.Resync
}
