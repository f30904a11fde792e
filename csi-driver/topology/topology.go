package topology

import (
	"context"
	"fmt"
	"maps"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/plinth-dev/plinth/csi-driver/driver"
)

// Labels copied from the Node into the driver's topology when present.
var Labels = []string{corev1.LabelTopologyZone, corev1.LabelTopologyRegion}

// FromNodeLabels returns a TopologySource that reads Labels from the Node
// named nodeName. The first successful read is kept for the life of the
// process: a node's zone and region do not change while it runs, and the
// controller service asks for the topology on every CreateVolume.
func FromNodeLabels(client kubernetes.Interface, nodeName string) driver.TopologySource {
	var (
		mu     sync.Mutex
		cached map[string]string
	)
	return func(ctx context.Context) (map[string]string, error) {
		mu.Lock()
		defer mu.Unlock()
		if cached != nil {
			return maps.Clone(cached), nil
		}
		node, err := client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("failed to get node %s: %w", nodeName, err)
		}
		cached = map[string]string{}
		for _, key := range Labels {
			if v, ok := node.Labels[key]; ok && v != "" {
				cached[key] = v
			}
		}
		return maps.Clone(cached), nil
	}
}
