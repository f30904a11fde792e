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
