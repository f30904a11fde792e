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

package chart_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/plinth-dev/plinth/internal/wellknown"
	"github.com/plinth-dev/plinth/test/prereq"
)

// nodeSA is the rendered chart's plinth-node ServiceAccount.
const nodeSA = renderFullname + "-node"

// admissionCluster is an API server with the chart's RBAC and node
// admission policy applied, and clients acting as plinth-node.
type admissionCluster struct {
	admin client.Client
	cs    kubernetes.Interface
	cfg   *rest.Config
}

// startAdmissionCluster starts kube-apiserver (envtest) and applies the
// chart's ServiceAccounts, RBAC and ValidatingAdmissionPolicy, as rendered
// with the default values.
func startAdmissionCluster(t *testing.T) *admissionCluster {
	t.Helper()
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		dir = repoPath(t, "bin", "k8s")
	}
	for _, bin := range []string{"etcd", "kube-apiserver"} {
		_, err := os.Stat(filepath.Join(dir, bin))
		prereq.Require(t, err == nil, "%s in %s (run `make k8s-bins` or set KUBEBUILDER_ASSETS)", bin, dir)
	}
	m := renderChart(t)
	env := &envtest.Environment{BinaryAssetsDirectory: dir}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("failed to start envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	admin, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ac := &admissionCluster{admin: admin, cs: kubernetes.NewForConfigOrDie(cfg), cfg: cfg}
	ctx := t.Context()
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: renderNamespace}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tenant"}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-b"}},
	} {
		ac.create(t, admin, obj)
	}
	for _, kind := range []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} {
		for _, obj := range m.ofKind(kind) {
			if err := admin.Create(ctx, &obj); err != nil {
				t.Fatalf("failed to apply %s %s: %v", kind, obj.GetName(), err)
			}
		}
	}
	return ac
}

func (ac *admissionCluster) create(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(t.Context(), obj); err != nil {
		t.Fatalf("failed to create %T %s: %v", obj, obj.GetName(), err)
	}
}

// nodeClient returns a client authenticated as plinth-node with the token
// of a pod of its DaemonSet on node, or, for node "", with a token bound to
// no pod.
func (ac *admissionCluster) nodeClient(t *testing.T, node string) client.Client {
	t.Helper()
	ctx := t.Context()
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptrTo[int64](3600)}}
	if node != "" {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: renderNamespace, Name: "plinth-node-" + node},
			Spec: corev1.PodSpec{
				ServiceAccountName: nodeSA, NodeName: node,
				Containers: []corev1.Container{{Name: "node", Image: "registry.invalid/plinth-node:v1"}},
			},
		}
		ac.create(t, ac.admin, pod)
		req.Spec.BoundObjectRef = &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID}
	}
	tok, err := ac.cs.CoreV1().ServiceAccounts(renderNamespace).CreateToken(ctx, nodeSA, req, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("failed to get a token of %s: %v", nodeSA, err)
	}
	cfg := rest.AnonymousClientConfig(ac.cfg)
	cfg.BearerToken = tok.Status.Token
	if node != "" {
		review, err := kubernetes.NewForConfigOrDie(cfg).AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := review.Status.UserInfo.Extra["authentication.kubernetes.io/node-name"]; len(got) != 1 || got[0] != node {
			t.Fatalf("the pod-bound token names node %v, want %s", got, node)
		}
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ptrTo[T any](v T) *T { return &v }

// csiPV returns a PV of the driver whose node affinity has one term per
// node, pre-bound to claim tenant/data.
func csiPV(name string, nodes ...string) *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:    corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			ClaimRef:    &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: "tenant", Name: "data"},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver: wellknown.DriverName, VolumeHandle: "vol-" + name,
			}},
		},
	}
	terms := []corev1.NodeSelectorTerm{}
	for _, n := range nodes {
		terms = append(terms, corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: []string{"zone-a"}},
			{Key: wellknown.TopologyKeyNode, Operator: corev1.NodeSelectorOpIn, Values: []string{n}},
		}})
	}
	if len(terms) > 0 {
		pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: terms}}
	}
	return pv
}

func hostPathPV(name string) *corev1.PersistentVolume {
	pv := csiPV(name, "node-a")
	pv.Spec.CSI = nil
	pv.Spec.HostPath = &corev1.HostPathVolumeSource{Path: "/etc"}
	return pv
}

// tenantClaim returns a claim of namespace tenant with the annotations and
// data source given.
func tenantClaim(name string, ann map[string]string, fromSnapshot bool) *corev1.PersistentVolumeClaim {
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "tenant", Name: name, Annotations: ann},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if fromSnapshot {
		pvc.Spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: ptrTo("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: "snap"}
	}
	return pvc
}

// annotate merge-patches an annotation onto obj with c.
func annotate(ctx context.Context, c client.Client, obj client.Object, key, value string) error {
	patch := `{"metadata":{"annotations":{"` + key + `":"` + value + `"}}}`
	return c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(patch)))
}

// annotateAll merge-patches annotations onto obj with c in one write.
func annotateAll(ctx context.Context, c client.Client, obj client.Object, ann map[string]string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": ann}})
	if err != nil {
		return err
	}
	return c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch))
}

// refusedByPolicy reports whether err is the node policy's refusal (and not
// RBAC's, which is Forbidden too).
func refusedByPolicy(err error) bool {
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "plinth-node")
}

// TestNodeAdmissionPolicyConfinesPlinthNodeToItsNode applies the chart's
// RBAC and ValidatingAdmissionPolicy to a real kube-apiserver and makes
// writes with plinth-node's pod-bound token of node-a: its own volumes and
// claims pass, everything a rogue node would want is refused.
func TestNodeAdmissionPolicyConfinesPlinthNodeToItsNode(t *testing.T) {
	ac := startAdmissionCluster(t)
	ctx := t.Context()
	nodeA := ac.nodeClient(t, "node-a")
	// The policy takes effect shortly after its creation: wait until a
	// dry run of a forbidden write is refused.
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		return refusedByPolicy(nodeA.Create(ctx, csiPV("probe", "node-b"), client.DryRunAll)), nil
	})
	if err != nil {
		t.Fatalf("the node admission policy never refused a PV of node-b: %v", err)
	}
	theirs := csiPV("theirs", "node-b")
	ac.create(t, ac.admin, theirs)
	for _, c := range []*corev1.PersistentVolumeClaim{
		tenantClaim("selected-a", map[string]string{"volume.kubernetes.io/selected-node": "node-a"}, false),
		tenantClaim("selected-b", map[string]string{"volume.kubernetes.io/selected-node": "node-b"}, false),
		tenantClaim("unselected", nil, false),
		tenantClaim("restore", map[string]string{"volume.kubernetes.io/selected-node": "node-b"}, true),
		tenantClaim("held-by-b", map[string]string{"volume.kubernetes.io/selected-node": "node-b", wellknown.AnnProvisioningNode: "node-b"}, true),
		tenantClaim("restored-on-a", map[string]string{"volume.kubernetes.io/selected-node": "node-b", wellknown.AnnNode: "node-a"}, true),
		tenantClaim("restore-2", map[string]string{"volume.kubernetes.io/selected-node": "node-b"}, true),
	} {
		ac.create(t, ac.admin, c)
	}
	claim := func(name string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "tenant", Name: name}}
	}

	t.Run("allowed", func(t *testing.T) {
		own := csiPV("own", "node-a")
		for _, w := range []struct {
			what  string
			write func() error
		}{ // in order: the PV is created, changed, then deleted
			{"create a PV pinned to its node", func() error { return nodeA.Create(ctx, own) }},
			{"change a PV pinned to its node", func() error { return annotate(ctx, nodeA, own, "x", "y") }},
			{"delete a PV pinned to its node", func() error { return nodeA.Delete(ctx, own) }},
			{"change a claim selected for its node", func() error { return annotate(ctx, nodeA, claim("selected-a"), "x", "y") }},
			{"take over a restore no node holds", func() error {
				return annotate(ctx, nodeA, claim("restore"), wellknown.AnnProvisioningNode, "node-a")
			}},
			{"change a claim whose volume it holds, selected for another node", func() error {
				return annotate(ctx, nodeA, claim("restored-on-a"), "x", "y")
			}},
			{"protect a clone source of another node", func() error { return addFinalizer(ctx, ac.admin, nodeA, claim("selected-b")) }},
		} {
			if err := w.write(); err != nil {
				t.Errorf("%s: %v", w.what, err)
			}
		}
	})

	t.Run("refused", func(t *testing.T) {
		for what, write := range map[string]func() error{
			"create a hostPath PV bound to a claim":    func() error { return nodeA.Create(ctx, hostPathPV("hostpath")) },
			"create a PV pinned to another node":       func() error { return nodeA.Create(ctx, csiPV("other", "node-b")) },
			"create a PV pinned to two nodes":          func() error { return nodeA.Create(ctx, csiPV("both", "node-a", "node-b")) },
			"create a PV with no node affinity":        func() error { return nodeA.Create(ctx, csiPV("anywhere")) },
			"delete a PV of another node":              func() error { return nodeA.Delete(ctx, theirs) },
			"change a PV of another node":              func() error { return annotate(ctx, nodeA, theirs, "x", "y") },
			"change a claim selected for another node": func() error { return annotate(ctx, nodeA, claim("selected-b"), "x", "y") },
			"change a claim selected for no node":      func() error { return annotate(ctx, nodeA, claim("unselected"), "x", "y") },
			"take over a restore another node holds":   func() error { return annotate(ctx, nodeA, claim("held-by-b"), wellknown.AnnProvisioningNode, "node-a") },
			"take over a restore for another node": func() error {
				return annotateAll(ctx, nodeA, claim("restore-2"), map[string]string{wellknown.AnnProvisioningNode: "node-a", wellknown.AnnNode: "node-b"})
			},
			"select a claim for itself": func() error {
				return annotate(ctx, nodeA, claim("unselected"), "volume.kubernetes.io/selected-node", "node-a")
			},
		} {
			if err := write(); !refusedByPolicy(err) {
				t.Errorf("%s: err = %v, want the node policy's refusal", what, err)
			}
		}
	})

	t.Run("a token bound to no pod names no node and is refused", func(t *testing.T) {
		unbound := ac.nodeClient(t, "")
		if err := unbound.Create(ctx, csiPV("unbound", "node-a")); !refusedByPolicy(err) {
			t.Errorf("create with a token naming no node: err = %v, want the node policy's refusal", err)
		}
	})
}

// addFinalizer adds the cloning-protection finalizer to a claim (read with
// reader), keeping its other finalizers, as the provisioner of a clone's
// source node does.
func addFinalizer(ctx context.Context, reader, c client.Client, pvc *corev1.PersistentVolumeClaim) error {
	if err := reader.Get(ctx, client.ObjectKeyFromObject(pvc), pvc); err != nil {
		return err
	}
	base := pvc.DeepCopy()
	pvc.Finalizers = append(pvc.Finalizers, wellknown.FinalizerCloningProtection)
	return c.Patch(ctx, pvc, client.MergeFrom(base))
}
