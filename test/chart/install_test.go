package chart_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
	"github.com/plinth-dev/plinth/test/objects"
)

// installValues are the test's overrides of the chart's defaults (besides
// network.enabled=false, as in `make run`: the agent would program this
// machine's own routes; pod networking has its own tests in netns): a
// ClusterNetwork exercises the node IPAM's rights.
var installValues = []string{
	"--set", "network.clusterNetwork.create=true",
	"--set", "network.clusterNetwork.podCidrs={10.244.0.0/16}",
}

var plinthCRDs = []string{
	"clusternetworks.network.plinth.dev", "snapshotschedules.storage.plinth.dev", "storagepools.storage.plinth.dev",
	"volumesnapshotclasses.snapshot.storage.k8s.io", "volumesnapshotcontents.snapshot.storage.k8s.io", "volumesnapshots.snapshot.storage.k8s.io",
}

// TestChartInstallsRunsAndUninstalls installs the chart for real into the
// local control plane, runs its pods as processes authenticated as the
// chart's ServiceAccounts, drives the storage scenarios through them, runs
// `helm test`, fails on any forbidden request, and uninstalls.
func TestChartInstallsRunsAndUninstalls(t *testing.T) {
	cc := startChartCluster(t) // helm install --create-namespace --wait

	t.Run("the hook labels the namespace for Pod Security", func(t *testing.T) {
		ns := &corev1.Namespace{}
		if err := cc.cp.Client.Get(t.Context(), client.ObjectKey{Name: releaseNS}, ns); err != nil {
			t.Fatal(err)
		}
		if got := ns.Labels["pod-security.kubernetes.io/enforce"]; got != "privileged" {
			t.Errorf("namespace enforce label = %q, want privileged", got)
		}
	})
	t.Run("every component is up", cc.assertComponentsUp)
	t.Run("storage scenarios through the chart's components", cc.storageScenarios)
	t.Run("helm test passes", func(t *testing.T) {
		// The hook pod is deleted once it succeeded; its log stays with
		// the runner's (reported when the test fails).
		out := mustHelm(t, cc.kubeconfigEnv(), "test", "plinth", "-n", releaseNS, "--timeout", "5m")
		if !strings.Contains(out, "Succeeded") {
			t.Errorf("helm test output does not report success:\n%s", out)
		}
	})
	t.Run("no component was refused a request", func(t *testing.T) {
		if lines := cc.forbiddenLines(t); len(lines) > 0 {
			t.Errorf("the chart's RBAC refused %d requests:\n%s", len(lines), strings.Join(lines, "\n"))
		}
	})
	t.Run("rendered manifests pass server-side validation", cc.dryRunRendered)
	t.Run("uninstall removes the release and keeps the CRDs", cc.uninstall)
}

// assertComponentsUp checks that the chart's workloads are ready and did
// what they do at start: plugin registration, pools, capacities.
func (cc *chartCluster) assertComponentsUp(t *testing.T) {
	ctx := t.Context()
	ds := &appsv1.DaemonSet{}
	poll(t, "plinth-node ready on every node", func(ctx context.Context) (bool, error) {
		err := cc.cp.Client.Get(ctx, client.ObjectKey{Namespace: releaseNS, Name: "plinth-node"}, ds)
		return err == nil && ds.Status.NumberReady == int32(len(nodeSpecs)), err
	})
	dep := &appsv1.Deployment{}
	if err := cc.cp.Client.Get(ctx, client.ObjectKey{Namespace: releaseNS, Name: "plinth-controller"}, dep); err != nil {
		t.Fatal(err)
	}
	if dep.Status.AvailableReplicas < 1 {
		t.Errorf("plinth-controller has %d available replicas", dep.Status.AvailableReplicas)
	}
	for _, node := range nodeNames() {
		poll(t, "CSINode of "+node, func(ctx context.Context) (bool, error) {
			n := &storagev1.CSINode{}
			err := cc.cp.Client.Get(ctx, client.ObjectKey{Name: node}, n)
			return err == nil && slices.ContainsFunc(n.Spec.Drivers, func(d storagev1.CSINodeDriver) bool { return d.Name == "csi.plinth.dev" }), client.IgnoreNotFound(err)
		})
		poll(t, "StoragePool of "+node+" ready", func(ctx context.Context) (bool, error) {
			p := &storagev1alpha1.StoragePool{}
			err := cc.cp.Client.Get(ctx, client.ObjectKey{Name: node}, p)
			return err == nil && meta.IsStatusConditionTrue(p.Status.Conditions, "Ready"), client.IgnoreNotFound(err)
		})
	}
	poll(t, "a CSIStorageCapacity per node", func(ctx context.Context) (bool, error) {
		list := &storagev1.CSIStorageCapacityList{}
		err := cc.cp.Client.List(ctx, list, client.InNamespace(releaseNS))
		return err == nil && len(list.Items) == len(nodeSpecs), err
	})
}

// storageScenarios provisions, snapshots, restores, clones, expands and
// deletes volumes; each step needs rights of a different controller.
func (cc *chartCluster) storageScenarios(t *testing.T) {
	ns := "apps"
	if err := cc.cp.CreateNamespace(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	cc.create(t, objects.Claim(ns, "data", "plinth", "200Mi"), objects.PodWithClaim(ns, "app", "data"))
	pv := cc.waitBound(t, ns, "data")
	if node := cc.waitScheduled(t, ns, "app"); !pvOnNode(pv, node) {
		t.Errorf("volume %s is not on the pod's node %s", pv.Name, node)
	}
	cc.create(t, &snapshotv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "snap"},
		Spec:       snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr.To("data")}},
	})
	poll(t, "snapshot ready", func(ctx context.Context) (bool, error) {
		s := &snapshotv1.VolumeSnapshot{}
		err := cc.cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "snap"}, s)
		return err == nil && s.Status != nil && ptr.Deref(s.Status.ReadyToUse, false), err
	})
	restore := objects.Claim(ns, "restored", "plinth", "200Mi")
	restore.Spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: ptr.To(snapshotv1.GroupName), Kind: "VolumeSnapshot", Name: "snap"}
	clone := objects.Claim(ns, "cloned", "plinth", "200Mi")
	clone.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "data"}
	cc.create(t, restore, objects.PodWithClaim(ns, "restored", "restored"), clone, objects.PodWithClaim(ns, "cloned", "cloned"))
	for _, name := range []string{"restored", "cloned"} {
		if got := cc.waitBound(t, ns, name); !sameNode(got, pv) {
			t.Errorf("claim %s was provisioned away from its source's node", name)
		}
	}
	cc.expand(t, ns, "data", "400Mi")
	cc.immediateClaim(t, ns)
	cc.schedule(t, ns)
	cc.deleteAll(t, ns)
}

// expand grows a claim and waits for the PV to follow.
func (cc *chartCluster) expand(t *testing.T, ns, name, size string) {
	pvc := &corev1.PersistentVolumeClaim{}
	if err := cc.cp.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, pvc); err != nil {
		t.Fatal(err)
	}
	base := pvc.DeepCopy()
	pvc.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse(size)
	if err := cc.cp.Client.Patch(t.Context(), pvc, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	want := resource.MustParse(size)
	poll(t, "PV of "+name+" expanded", func(ctx context.Context) (bool, error) {
		pv := &corev1.PersistentVolume{}
		err := cc.cp.Client.Get(ctx, client.ObjectKey{Name: pvc.Spec.VolumeName}, pv)
		return err == nil && pv.Spec.Capacity.Storage().Cmp(want) >= 0, err
	})
}

// immediateClaim binds a claim of an Immediate class: plinth-controller's
// node picker chooses the node.
func (cc *chartCluster) immediateClaim(t *testing.T, ns string) {
	mode := storagev1.VolumeBindingImmediate
	cc.create(t, &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: "plinth-immediate"}, Provisioner: "csi.plinth.dev", VolumeBindingMode: &mode,
	})
	cc.create(t, objects.Claim(ns, "immediate", "plinth-immediate", "100Mi"))
	cc.waitBound(t, ns, "immediate")
}

// schedule creates a SnapshotSchedule and waits for its controller to
// report the next run.
func (cc *chartCluster) schedule(t *testing.T, ns string) {
	cc.create(t, &storagev1alpha1.SnapshotSchedule{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hourly"},
		Spec: storagev1alpha1.SnapshotScheduleSpec{
			Schedule:  "0 * * * *",
			Selector:  metav1.LabelSelector{MatchLabels: map[string]string{"backup": "hourly"}},
			Retention: storagev1alpha1.SnapshotRetention{MaxCount: ptr.To[int32](3)},
		},
	})
	poll(t, "schedule's next run", func(ctx context.Context) (bool, error) {
		s := &storagev1alpha1.SnapshotSchedule{}
		err := cc.cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "hourly"}, s)
		return err == nil && s.Status.NextRunTime != nil, err
	})
}

// deleteAll deletes the namespace's pods, snapshots and claims and waits
// for every PV to go (reclaim policy Delete).
func (cc *chartCluster) deleteAll(t *testing.T, ns string) {
	ctx := t.Context()
	for _, obj := range []client.Object{&corev1.Pod{}, &snapshotv1.VolumeSnapshot{}, &corev1.PersistentVolumeClaim{}} {
		opts := []client.DeleteAllOfOption{client.InNamespace(ns)}
		if _, ok := obj.(*corev1.Pod); ok {
			opts = append(opts, client.GracePeriodSeconds(0)) // no kubelet confirms
		}
		if err := cc.cp.Client.DeleteAllOf(ctx, obj, opts...); err != nil {
			t.Fatal(err)
		}
	}
	poll(t, "every PV deleted", func(ctx context.Context) (bool, error) {
		list := &corev1.PersistentVolumeList{}
		err := cc.cp.Client.List(ctx, list)
		return err == nil && len(list.Items) == 0, err
	})
}

// uninstall removes the release and checks what is gone and what is kept.
func (cc *chartCluster) uninstall(t *testing.T) {
	mustHelm(t, cc.kubeconfigEnv(), "uninstall", "plinth", "-n", releaseNS, "--wait", "--timeout", "3m")
	for _, obj := range []client.Object{
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: releaseNS, Name: "plinth-controller"}},
		&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: releaseNS, Name: "plinth-node"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: releaseNS, Name: "plinth-node"}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "plinth-node"}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "plinth-controller-snapshot-controller"}},
		&storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "csi.plinth.dev"}},
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "plinth"}},
		&snapshotv1.VolumeSnapshotClass{ObjectMeta: metav1.ObjectMeta{Name: "plinth"}},
	} {
		cc.waitGone(t, obj)
	}
	poll(t, "the release's pods gone", func(ctx context.Context) (bool, error) {
		list := &corev1.PodList{}
		err := cc.cp.Client.List(ctx, list, client.InNamespace(releaseNS))
		return err == nil && len(list.Items) == 0, err
	})
	for _, name := range plinthCRDs {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := cc.cp.Client.Get(t.Context(), client.ObjectKey{Name: name}, crd); err != nil {
			t.Errorf("CRD %s not kept after uninstall: %v", name, err)
		}
	}
}

func (cc *chartCluster) create(t testing.TB, objs ...client.Object) {
	t.Helper()
	for _, obj := range objs {
		if err := cc.cp.Client.Create(t.Context(), obj); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("failed to create %T %s: %v", obj, obj.GetName(), err)
		}
	}
}

func (cc *chartCluster) waitBound(t testing.TB, ns, name string) *corev1.PersistentVolume {
	t.Helper()
	pvc := &corev1.PersistentVolumeClaim{}
	poll(t, "claim "+name+" bound", func(ctx context.Context) (bool, error) {
		err := cc.cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, pvc)
		return err == nil && pvc.Status.Phase == corev1.ClaimBound, err
	})
	pv := &corev1.PersistentVolume{}
	if err := cc.cp.Client.Get(t.Context(), client.ObjectKey{Name: pvc.Spec.VolumeName}, pv); err != nil {
		t.Fatal(err)
	}
	return pv
}

func (cc *chartCluster) waitScheduled(t testing.TB, ns, name string) string {
	t.Helper()
	p := &corev1.Pod{}
	poll(t, "pod "+name+" scheduled", func(ctx context.Context) (bool, error) {
		err := cc.cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, p)
		return err == nil && p.Spec.NodeName != "", err
	})
	return p.Spec.NodeName
}

// nodeOf returns the node a local PV's affinity names.
func nodeOf(pv *corev1.PersistentVolume) string {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return ""
	}
	for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, e := range term.MatchExpressions {
			if e.Key == "topology.csi.plinth.dev/node" && len(e.Values) == 1 {
				return e.Values[0]
			}
		}
	}
	return ""
}

func pvOnNode(pv *corev1.PersistentVolume, node string) bool { return nodeOf(pv) == node }

func sameNode(a, b *corev1.PersistentVolume) bool { return nodeOf(a) != "" && nodeOf(a) == nodeOf(b) }
