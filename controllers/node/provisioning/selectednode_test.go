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

package provisioning

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/component-helpers/storage/volume"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/plinth-dev/plinth/controllers/node/nodedeps"
	"github.com/plinth-dev/plinth/internal/wellknown"
	"github.com/plinth-dev/plinth/test/objects"
)

// A claim kube-scheduler selected for this node is provisioned at once,
// before kube-controller-manager names the provisioner in an annotation
// (issue #15: at kube-controller-manager's default client limits, waiting
// for that annotation made every claim queue behind its writes), as long as
// its class is this driver's; an annotation naming another provisioner
// still wins.
func TestSelectedClaimOfOurClassNeedsNoProvisionerAnnotation(t *testing.T) {
	ours := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "ours"}, Provisioner: wellknown.DriverName}
	theirs := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "theirs"}, Provisioner: "other.csi.example.com"}
	c := fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).WithObjects(ours, theirs).Build()
	p := &Provisioner{Deps: nodedeps.Deps{Client: c, DriverName: wellknown.DriverName, NodeName: "node-1"}}
	claim := func(class, node, provisioner string) *corev1.PersistentVolumeClaim {
		pvc := objects.Claim("ns", "data", class, "1Gi")
		pvc.Annotations = map[string]string{}
		if node != "" {
			pvc.Annotations[volume.AnnSelectedNode] = node
		}
		if provisioner != "" {
			pvc.Annotations[volume.AnnStorageProvisioner] = provisioner
		}
		return pvc
	}
	for _, tc := range []struct {
		name string
		pvc  *corev1.PersistentVolumeClaim
		want bool
	}{
		{"selected here, not annotated yet", claim("ours", "node-1", ""), true},
		{"selected here and annotated", claim("ours", "node-1", wellknown.DriverName), true},
		{"selected elsewhere", claim("ours", "node-2", ""), false},
		{"not selected yet", claim("ours", "", ""), false},
		{"another driver's class", claim("theirs", "node-1", ""), false},
		{"annotated for another provisioner", claim("ours", "node-1", "other.csi.example.com"), false},
		{"a missing class", claim("gone", "node-1", ""), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !p.mayHandle(tc.pvc) && tc.want {
				t.Fatal("the event filter drops the claim")
			}
			got, err := p.responsibleFor(t.Context(), tc.pvc)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("responsibleFor = %v, want %v", got, tc.want)
			}
		})
	}
}
