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

package app

import (
	"strings"
	"testing"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/plinth-dev/plinth/csi-driver/plugin"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

func TestCacheOptions(t *testing.T) {
	cfg := Config{Namespace: "plinth-system", Plugin: plugin.Config{NodeName: "node-1"}}
	if opts, err := cacheOptions(cfg, true); err != nil || len(opts.ByObject) != 1 || opts.DefaultTransform == nil {
		t.Errorf("default cache: %d objects configured, transform %v; want the capacities alone and a transform", len(opts.ByObject), opts.DefaultTransform != nil)
	}
	cfg.CacheOwnObjectsOnly = true
	for _, snapshots := range []bool{false, true} {
		opts, err := cacheOptions(cfg, snapshots)
		if err != nil {
			t.Fatal(err)
		}
		mine := labels.Set{wellknown.LabelNode: "node-1"}
		unclaimed := labels.Set{wellknown.LabelNode: wellknown.NodeUnclaimed}
		theirs := labels.Set{wellknown.LabelNode: "node-2"}
		unlabelled := labels.Set{}
		selected := map[string]bool{}
		for obj, by := range opts.ByObject {
			if by.Label == nil {
				continue
			}
			if !by.Label.Matches(mine) || !by.Label.Matches(unclaimed) || by.Label.Matches(theirs) || by.Label.Matches(unlabelled) {
				t.Errorf("selector of %T = %s, want the node's own objects and the unclaimed ones", obj, by.Label)
			}
			switch obj.(type) {
			case *corev1.PersistentVolume:
				selected["pv"] = true
			case *snapshotv1.VolumeSnapshotContent:
				selected["content"] = true
			}
		}
		if !selected["pv"] || selected["content"] != snapshots {
			t.Errorf("snapshots served %v: selected %v", snapshots, selected)
		}
	}
}

// A node name longer than a label value may be selects by its hash.
func TestCacheOptionsForALongNodeName(t *testing.T) {
	long := strings.Repeat("n", 100) + ".example.com"
	cfg := Config{Namespace: "plinth-system", Plugin: plugin.Config{NodeName: long}, CacheOwnObjectsOnly: true}
	opts, err := cacheOptions(cfg, true)
	if err != nil {
		t.Fatalf("cache options for a node name of %d characters: %v", len(long), err)
	}
	for obj, by := range opts.ByObject {
		if by.Label != nil && !by.Label.Matches(labels.Set{wellknown.LabelNode: wellknown.NodeLabel(long)}) {
			t.Errorf("selector of %T = %s does not match the node's label value", obj, by.Label)
		}
	}
}

func TestLabelOwn(t *testing.T) {
	scheme, err := Scheme()
	if err != nil {
		t.Fatal(err)
	}
	pv := func(name, node string, labelled bool) *corev1.PersistentVolume {
		p := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{wellknown.AnnNode: node}}}
		if labelled {
			p.Labels = map[string]string{wellknown.LabelNode: node}
		}
		return p
	}
	cl := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		pv("old", "node-1", false), pv("new", "node-1", true), pv("other", "node-2", false),
		&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "static"}},
	).Build()
	n, err := labelOwn(t.Context(), cl, cl, corev1.SchemeGroupVersion.WithKind("PersistentVolumeList"), "node-1")
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("labelled %d PVs, want 1", n)
	}
	want := map[string]string{"old": "node-1", "new": "node-1", "other": "", "static": ""}
	for name, node := range want {
		got := &corev1.PersistentVolume{}
		if err := cl.Get(t.Context(), client.ObjectKey{Name: name}, got); err != nil {
			t.Fatal(err)
		}
		if got.Labels[wellknown.LabelNode] != node {
			t.Errorf("PV %s labelled %q, want %q", name, got.Labels[wellknown.LabelNode], node)
		}
	}
}
