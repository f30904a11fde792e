// Package v1alpha1 contains the network.plinth.dev/v1alpha1 API: the
// ClusterNetwork that describes the cluster's pod network.
//
// +kubebuilder:object:generate=true
// +groupName=network.plinth.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "network.plinth.dev", Version: "v1alpha1"}

	// SchemeBuilder registers this API's types with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds this API's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &ClusterNetwork{}, &ClusterNetworkList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
