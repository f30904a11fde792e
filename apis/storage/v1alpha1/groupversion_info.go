// Package v1alpha1 contains the storage.plinth.dev/v1alpha1 API: the
// SnapshotSchedule that takes VolumeSnapshots of matching claims on a cron
// schedule with retention, and the StoragePool that reports each node's
// volume pool.
//
// +kubebuilder:object:generate=true
// +groupName=storage.plinth.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "storage.plinth.dev", Version: "v1alpha1"}

	// SchemeBuilder registers this API's types with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds this API's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&SnapshotSchedule{}, &SnapshotScheduleList{},
		&StoragePool{}, &StoragePoolList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
