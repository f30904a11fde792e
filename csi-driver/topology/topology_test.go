package topology_test

import (
	"context"
	"maps"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/plinth-dev/plinth/csi-driver/topology"
)

func TestFromNodeLabelsCopiesZoneAndRegionOnly(t *testing.T) {
	for name, tc := range map[string]struct {
		labels map[string]string
		want   map[string]string
	}{
		"zone and region": {
			labels: map[string]string{corev1.LabelTopologyZone: "z1", corev1.LabelTopologyRegion: "r1", "other": "x"},
			want:   map[string]string{corev1.LabelTopologyZone: "z1", corev1.LabelTopologyRegion: "r1"},
		},
		"no labels": {labels: nil, want: map[string]string{}},
		"empty zone is ignored": {
			labels: map[string]string{corev1.LabelTopologyZone: ""},
			want:   map[string]string{},
		},
	} {
		t.Run(name, func(t *testing.T) {
			client := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: tc.labels}})
			got, err := topology.FromNodeLabels(client, "n1")(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("segments = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFromNodeLabelsFailsForAMissingNode(t *testing.T) {
	if _, err := topology.FromNodeLabels(fake.NewClientset(), "gone")(context.Background()); err == nil {
		t.Error("want an error for a missing node")
	}
}
