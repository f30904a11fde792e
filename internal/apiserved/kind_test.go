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

package apiserved

import (
	"testing"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestKind(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := snapshotv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(corev1.SchemeGroupVersion.WithKind("PersistentVolume"), meta.RESTScopeRoot)
	if ok, err := Kind(scheme, mapper, &corev1.PersistentVolume{}); !ok || err != nil {
		t.Errorf("PersistentVolume: served %v, %v; want served", ok, err)
	}
	if ok, err := Kind(scheme, mapper, &snapshotv1.VolumeSnapshotContent{}); ok || err != nil {
		t.Errorf("VolumeSnapshotContent without its CRD: served %v, %v; want not served, no error", ok, err)
	}
	if _, err := Kind(runtime.NewScheme(), mapper, &corev1.PersistentVolume{}); err == nil {
		t.Error("a kind the scheme does not know is no error")
	}
}

type fakeMapper struct {
	scheme *runtime.Scheme
	mapper meta.RESTMapper
}

func (f fakeMapper) GetScheme() *runtime.Scheme     { return f.scheme }
func (f fakeMapper) GetRESTMapper() meta.RESTMapper { return f.mapper }

func TestEachServedSetsUpOnlyTheServedKinds(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := snapshotv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(corev1.SchemeGroupVersion.WithKind("PersistentVolume"), meta.RESTScopeRoot)
	kinds := []client.Object{&corev1.PersistentVolume{}, &snapshotv1.VolumeSnapshotContent{}}
	var set []client.Object
	err := EachServed(fakeMapper{scheme, mapper}, kinds, func(o client.Object) client.Object { return o }, func(o client.Object) error {
		set = append(set, o)
		return nil
	})
	if err != nil || len(set) != 1 || set[0] != kinds[0] {
		t.Errorf("set up %v (%v), want the PersistentVolume alone", set, err)
	}
}
