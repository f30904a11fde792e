package storagepool

import (
	"math"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
)

// applyStatus writes an observation into a pool's status. An unhealthy pool
// only turns Ready False: the figures last seen are kept, since a pool that
// cannot be read has not become empty.
func applyStatus(st *storagev1alpha1.StoragePoolStatus, obs observation, generation int64) {
	st.ObservedGeneration = generation
	if obs.notReady != "" {
		setReady(st, generation, metav1.ConditionFalse, storagev1alpha1.ReasonPoolUnavailable, obs.notReady)
		return
	}
	st.Filesystem = obs.info.Filesystem
	st.Reflink = obs.info.Reflink
	st.Capacity = bytesQuantity(obs.info.CapacityBytes)
	st.Used = bytesQuantity(obs.info.UsedBytes)
	st.Available = bytesQuantity(obs.availableBytes)
	st.Volumes = count32(obs.volumes)
	st.Snapshots = count32(obs.snapshots)
	setReady(st, generation, metav1.ConditionTrue, storagev1alpha1.ReasonPoolHealthy, "The driver's health probe passed")
}

func setReady(st *storagev1alpha1.StoragePoolStatus, generation int64, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type:               storagev1alpha1.PoolReady,
		Status:             status,
		Reason:             reason,
		Message:            msg,
		ObservedGeneration: generation,
	})
}

func bytesQuantity(n int64) *resource.Quantity {
	return resource.NewQuantity(n, resource.BinarySI)
}

func count32(n int) int32 {
	return int32(min(n, math.MaxInt32)) //nolint:gosec // clamped
}
