package topology

import (
	"testing"

	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
)

func TestOnlyAChangeOfTheTopologyLabelsIsPublished(t *testing.T) {
	n := NewNode("n1", testr.New(t))
	n.set(map[string]string{corev1.LabelTopologyZone: "a"})
	changed := n.Changed()
	n.set(map[string]string{corev1.LabelTopologyZone: "a"})
	n.synced() // the informer's sync after the Node was seen changes nothing
	select {
	case <-changed:
		t.Fatal("the same labels were published as a change")
	default:
	}
	n.set(map[string]string{corev1.LabelTopologyZone: "b"})
	select {
	case <-changed:
	default:
		t.Fatal("a new zone was not published")
	}
}
