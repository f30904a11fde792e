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
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

const (
	// renderRelease does not contain "plinth", so objects are named
	// renderFullname: the chart appends "-plinth" to the release name.
	renderRelease   = "rel"
	renderFullname  = "rel-plinth"
	renderNamespace = "storage-system"
)

// renderFlippedValues is the values file with every switch flipped and every
// optional feature on.
func renderFlippedValues(t testing.TB) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", "render-flipped-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// renderManifest is the output of `helm template`, one object per document.
type renderManifest []unstructured.Unstructured

// renderChart runs `helm template` on the chart with args and parses the
// output.
func renderChart(t testing.TB, args ...string) renderManifest {
	t.Helper()
	base := []string{"template", renderRelease, chartDir(t), "--namespace", renderNamespace}
	return renderParse(t, mustHelm(t, nil, append(base, args...)...))
}

// renderParse splits a multi-document YAML stream into objects, skipping
// empty documents.
func renderParse(t testing.TB, out string) renderManifest {
	t.Helper()
	var m renderManifest
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(out)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return m
		}
		if err != nil {
			t.Fatalf("failed to read the rendered YAML: %v", err)
		}
		var obj map[string]any
		// utilyaml.Unmarshal keeps integers int64, as the converter to typed
		// objects needs.
		if err := utilyaml.Unmarshal(doc, &obj); err != nil {
			t.Fatalf("failed to parse a rendered document: %v\n%s", err, doc)
		}
		if len(obj) == 0 {
			continue
		}
		m = append(m, unstructured.Unstructured{Object: obj})
	}
}

// ofKind returns the objects of kind.
func (m renderManifest) ofKind(kind string) []unstructured.Unstructured {
	var objs []unstructured.Unstructured
	for _, obj := range m {
		if obj.GetKind() == kind {
			objs = append(objs, obj)
		}
	}
	return objs
}

// lookup returns the object of kind and name, or nil.
func (m renderManifest) lookup(kind, name string) *unstructured.Unstructured {
	for i := range m {
		if m[i].GetKind() == kind && m[i].GetName() == name {
			return &m[i]
		}
	}
	return nil
}

// has reports whether the manifest holds the object of kind and name.
func (m renderManifest) has(kind, name string) bool { return m.lookup(kind, name) != nil }

// decode converts the object of kind and name into typed, failing the test
// when it is missing.
func (m renderManifest) decode(t testing.TB, kind, name string, typed any) {
	t.Helper()
	obj := m.lookup(kind, name)
	if obj == nil {
		t.Fatalf("the render has no %s %q", kind, name)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, typed); err != nil {
		t.Fatalf("failed to decode %s %q: %v", kind, name, err)
	}
}

// renderContainer returns the container called name, failing the test when
// there is none.
func renderContainer(t testing.TB, containers []corev1.Container, name string) corev1.Container {
	t.Helper()
	for _, c := range containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %q", name)
	return corev1.Container{}
}

// renderHostPaths returns the host paths of a pod's volumes by volume name.
func renderHostPaths(spec *corev1.PodSpec) map[string]string {
	paths := map[string]string{}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			paths[v.Name] = v.HostPath.Path
		}
	}
	return paths
}

// renderMount returns the mount of volume in c, failing the test when there
// is none.
func renderMount(t testing.TB, c *corev1.Container, volume string) corev1.VolumeMount {
	t.Helper()
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return m
		}
	}
	t.Fatalf("container %s does not mount volume %q", c.Name, volume)
	return corev1.VolumeMount{}
}

// renderWantArgs fails the test unless args hold every one of want.
func renderWantArgs(t testing.TB, what string, args []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(args, w) {
			t.Errorf("%s: args %q lack %q", what, args, w)
		}
	}
}

func TestLintStrictPassesWithDefaultAndFlippedValues(t *testing.T) {
	componentsOff := "controller.enabled=false,node.enabled=false,storageClass.create=false,snapshotClass.create=false"
	for _, tc := range []struct {
		name string
		args []string
	}{
		{name: "default values"},
		{name: "every switch flipped", args: []string{"--values", renderFlippedValues(t)}},
		{name: "every component off", args: []string{"--values", renderFlippedValues(t), "--set", componentsOff}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"lint", "--strict", chartDir(t), "--namespace", renderNamespace}, tc.args...)
			out := mustHelm(t, nil, args...)
			if !strings.Contains(out, "0 chart(s) failed") {
				t.Errorf("helm lint did not report success:\n%s", out)
			}
		})
	}
}

func TestRenderDefaults(t *testing.T) {
	m := renderChart(t)

	t.Run("plinth-node runs privileged on the host network, its CNI installer does not", func(t *testing.T) {
		var ds appsv1.DaemonSet
		m.decode(t, "DaemonSet", renderFullname+"-node", &ds)
		spec := &ds.Spec.Template.Spec
		if !spec.HostNetwork {
			t.Error("hostNetwork is off")
		}
		if spec.PriorityClassName != "system-node-critical" {
			t.Errorf("priorityClassName = %q, want system-node-critical", spec.PriorityClassName)
		}
		want := []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
		if !slices.Equal(spec.Tolerations, want) {
			t.Errorf("tolerations = %+v, want %+v (every taint)", spec.Tolerations, want)
		}
		node := renderContainer(t, spec.Containers, "plinth-node")
		if sc := node.SecurityContext; sc == nil || sc.Privileged == nil || !*sc.Privileged {
			t.Error("plinth-node is not privileged")
		}
		mount := renderMount(t, &node, "kubelet-dir")
		if mount.MountPath != "/var/lib/kubelet" || mount.MountPropagation == nil || *mount.MountPropagation != corev1.MountPropagationBidirectional {
			t.Errorf("kubelet dir mount = %+v, want /var/lib/kubelet with Bidirectional propagation", mount)
		}
		if got := renderHostPaths(spec)["kubelet-dir"]; got != "/var/lib/kubelet" {
			t.Errorf("kubelet-dir host path = %q, want /var/lib/kubelet", got)
		}
		install := renderContainer(t, spec.InitContainers, "install-cni")
		sc := install.SecurityContext
		if sc == nil || sc.Privileged == nil || *sc.Privileged {
			t.Error("install-cni is not explicitly unprivileged")
		}
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			t.Errorf("install-cni security context = %+v, want no privilege escalation and every capability dropped", sc)
		}
	})

	t.Run("plinth-controller runs every controller under leader election", func(t *testing.T) {
		var d appsv1.Deployment
		m.decode(t, "Deployment", renderFullname+"-controller", &d)
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
			t.Errorf("replicas = %v, want 2", d.Spec.Replicas)
		}
		c := renderContainer(t, d.Spec.Template.Spec.Containers, "plinth-controller")
		renderWantArgs(t, "plinth-controller", c.Args, "--leader-elect=true",
			"--enable-node-ipam=true", "--enable-node-picker=true", "--enable-node-gone=true",
			"--enable-snapshot-controller=true", "--enable-snapshotschedule=true")
	})

	t.Run("the CSIDriver needs no attach and serves persistent and ephemeral volumes", func(t *testing.T) {
		var d storagev1.CSIDriver
		m.decode(t, "CSIDriver", "csi.plinth.dev", &d)
		s := d.Spec
		if s.AttachRequired == nil || *s.AttachRequired {
			t.Error("attachRequired is not false")
		}
		if s.PodInfoOnMount == nil || !*s.PodInfoOnMount {
			t.Error("podInfoOnMount is not true")
		}
		if s.StorageCapacity == nil || !*s.StorageCapacity {
			t.Error("storageCapacity is not true")
		}
		if s.FSGroupPolicy == nil || *s.FSGroupPolicy != storagev1.FileFSGroupPolicy {
			t.Errorf("fsGroupPolicy = %v, want File", s.FSGroupPolicy)
		}
		modes := []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent, storagev1.VolumeLifecycleEphemeral}
		if !slices.Equal(s.VolumeLifecycleModes, modes) {
			t.Errorf("volumeLifecycleModes = %v, want %v", s.VolumeLifecycleModes, modes)
		}
	})

	t.Run("the StorageClass is the default and provisions on the first consumer's node", func(t *testing.T) {
		var sc storagev1.StorageClass
		m.decode(t, "StorageClass", "plinth", &sc)
		if sc.Provisioner != "csi.plinth.dev" {
			t.Errorf("provisioner = %q, want csi.plinth.dev", sc.Provisioner)
		}
		if sc.VolumeBindingMode == nil || *sc.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer {
			t.Errorf("volumeBindingMode = %v, want WaitForFirstConsumer", sc.VolumeBindingMode)
		}
		if sc.AllowVolumeExpansion == nil || !*sc.AllowVolumeExpansion {
			t.Error("allowVolumeExpansion is not true")
		}
		if got := sc.Annotations["storageclass.kubernetes.io/is-default-class"]; got != "true" {
			t.Errorf("is-default-class annotation = %q, want \"true\"", got)
		}
		if got := sc.Parameters["csi.storage.k8s.io/fstype"]; got != "ext4" {
			t.Errorf("fstype parameter = %q, want ext4", got)
		}
	})

	t.Run("the VolumeSnapshotClass is the driver's default", func(t *testing.T) {
		var vsc snapshotv1.VolumeSnapshotClass
		m.decode(t, "VolumeSnapshotClass", "plinth", &vsc)
		if vsc.Driver != "csi.plinth.dev" || vsc.DeletionPolicy != snapshotv1.VolumeSnapshotContentDelete {
			t.Errorf("driver %q, deletionPolicy %q; want csi.plinth.dev, Delete", vsc.Driver, vsc.DeletionPolicy)
		}
		if got := vsc.Annotations["snapshot.storage.kubernetes.io/is-default-class"]; got != "true" {
			t.Errorf("is-default-class annotation = %q, want \"true\"", got)
		}
	})

	t.Run("a hook labels the namespace privileged", func(t *testing.T) {
		var job batchv1.Job
		m.decode(t, "Job", renderFullname+"-namespace-labels", &job)
		c := renderContainer(t, job.Spec.Template.Spec.Containers, "label-namespace")
		renderWantArgs(t, "label-namespace", c.Args, "--namespace="+renderNamespace,
			"--label=pod-security.kubernetes.io/enforce=privileged")
	})
}

func TestRenderRBACHasNoWildcardsNoSecretsAndStaysInTheNamespace(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{name: "default values"},
		{name: "every switch flipped", args: []string{"--values", renderFlippedValues(t)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := renderChart(t, tc.args...)
			roles := 0
			for _, kind := range []string{"ClusterRole", "Role"} {
				for _, obj := range m.ofKind(kind) {
					roles++
					var role rbacv1.ClusterRole // a Role has the same rules
					m.decode(t, kind, obj.GetName(), &role)
					renderCheckRules(t, kind+" "+obj.GetName(), role.Rules)
					if kind == "Role" && obj.GetNamespace() != renderNamespace {
						t.Errorf("Role %s is in namespace %q, want %q", obj.GetName(), obj.GetNamespace(), renderNamespace)
					}
				}
			}
			if roles == 0 {
				t.Fatal("the render has no roles")
			}
			for _, obj := range m.ofKind("RoleBinding") {
				if obj.GetNamespace() != renderNamespace {
					t.Errorf("RoleBinding %s is in namespace %q, want %q", obj.GetName(), obj.GetNamespace(), renderNamespace)
				}
			}
			renderCheckBindings(t, m)
		})
	}
}

// renderCheckRules fails the test for a wildcard or a mention of Secrets.
func renderCheckRules(t testing.TB, what string, rules []rbacv1.PolicyRule) {
	t.Helper()
	for _, r := range rules {
		for _, field := range [][]string{r.APIGroups, r.Resources, r.Verbs, r.ResourceNames, r.NonResourceURLs} {
			if slices.Contains(field, "*") {
				t.Errorf("%s has a wildcard rule: %+v", what, r)
			}
		}
		for _, res := range r.Resources {
			if res == "secrets" || strings.HasPrefix(res, "secrets/") {
				t.Errorf("%s grants access to Secrets: %+v", what, r)
			}
		}
	}
}

// renderCheckBindings fails the test unless every binding refers to a role
// of the render and binds only ServiceAccounts of the release namespace.
func renderCheckBindings(t testing.TB, m renderManifest) {
	t.Helper()
	for _, kind := range []string{"ClusterRoleBinding", "RoleBinding"} {
		for _, obj := range m.ofKind(kind) {
			var b rbacv1.RoleBinding // a ClusterRoleBinding has the same fields
			m.decode(t, kind, obj.GetName(), &b)
			if !m.has(b.RoleRef.Kind, b.RoleRef.Name) {
				t.Errorf("%s %s refers to %s %s, which the chart does not render", kind, b.Name, b.RoleRef.Kind, b.RoleRef.Name)
			}
			for _, s := range b.Subjects {
				if s.Kind != rbacv1.ServiceAccountKind || s.Namespace != renderNamespace {
					t.Errorf("%s %s binds %+v, want only ServiceAccounts of %s", kind, b.Name, s, renderNamespace)
				}
			}
		}
	}
}

func TestRenderDisabledControllerLosesItsRoleAndFlag(t *testing.T) {
	defaults := renderChart(t)
	for _, tc := range []struct {
		value string // key under controller.controllers
		flag  string // the --enable-<flag> of plinth-controller and its role set
	}{
		{value: "nodeIpam", flag: "node-ipam"},
		{value: "nodePicker", flag: "node-picker"},
		{value: "nodeGone", flag: "node-gone"},
		{value: "nodeLabel", flag: "node-label"},
		{value: "snapshotController", flag: "snapshot-controller"},
		{value: "snapshotSchedule", flag: "snapshotschedule"},
	} {
		t.Run(tc.value, func(t *testing.T) {
			t.Parallel()
			role := renderFullname + "-controller-" + tc.flag
			if !defaults.has("ClusterRole", role) || !defaults.has("ClusterRoleBinding", role) {
				t.Fatalf("the default render lacks ClusterRole and ClusterRoleBinding %s", role)
			}
			m := renderChart(t, "--set", "controller.controllers."+tc.value+"=false")
			for _, kind := range []string{"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"} {
				if m.has(kind, role) {
					t.Errorf("%s %s is rendered for a disabled controller", kind, role)
				}
			}
			var d appsv1.Deployment
			m.decode(t, "Deployment", renderFullname+"-controller", &d)
			c := renderContainer(t, d.Spec.Template.Spec.Containers, "plinth-controller")
			renderWantArgs(t, "plinth-controller", c.Args, "--enable-"+tc.flag+"=false")
		})
	}
}

func TestRenderWithoutNodeHasNoDaemonSet(t *testing.T) {
	m := renderChart(t, "--set", "node.enabled=false")
	if len(m.ofKind("DaemonSet")) != 0 {
		t.Error("a DaemonSet is rendered with node.enabled=false")
	}
	for _, kind := range []string{"ServiceAccount", "ClusterRole", "Role"} {
		if m.has(kind, renderFullname+"-node") {
			t.Errorf("%s %s-node is rendered with node.enabled=false", kind, renderFullname)
		}
	}
	if m.has("Service", renderFullname+"-node-metrics") {
		t.Error("the node metrics Service is rendered with node.enabled=false")
	}
	if !m.has("Deployment", renderFullname+"-controller") || !m.has("CSIDriver", "csi.plinth.dev") {
		t.Error("node.enabled=false dropped the controller or the CSIDriver")
	}
}

func TestRenderWithoutNetworkHasNoCNI(t *testing.T) {
	m := renderChart(t, "--set", "network.enabled=false")
	var ds appsv1.DaemonSet
	m.decode(t, "DaemonSet", renderFullname+"-node", &ds)
	spec := &ds.Spec.Template.Spec
	if len(spec.InitContainers) != 1 || spec.InitContainers[0].Name != "prepare-host" {
		t.Errorf("init containers %v are rendered with network.enabled=false, want prepare-host alone", spec.InitContainers)
	}
	for name, path := range renderHostPaths(spec) {
		if strings.Contains(path, "cni") || path == "/run/plinth" {
			t.Errorf("host path volume %s (%s) is rendered with network.enabled=false", name, path)
		}
	}
	node := renderContainer(t, spec.Containers, "plinth-node")
	renderWantArgs(t, "plinth-node", node.Args, "--network=false")
	for _, arg := range node.Args {
		if strings.HasPrefix(arg, "--cni-") || strings.HasPrefix(arg, "--network-mode") {
			t.Errorf("plinth-node has network flag %q with network.enabled=false", arg)
		}
	}
}

// plinth-node watches only its own PVs and snapshot contents and the
// unclaimed ones exactly while plinth-controller's node-label controller
// labels the unclaimed ones.
func TestRenderNodeCacheFollowsTheNodeLabelController(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--cache-own-objects-only=true"},
		{[]string{"--set", "controller.controllers.nodeLabel=false"}, "--cache-own-objects-only=false"},
		{[]string{"--set", "controller.enabled=false"}, "--cache-own-objects-only=false"},
	} {
		m := renderChart(t, tc.args...)
		var ds appsv1.DaemonSet
		m.decode(t, "DaemonSet", renderFullname+"-node", &ds)
		node := renderContainer(t, ds.Spec.Template.Spec.Containers, "plinth-node")
		renderWantArgs(t, "plinth-node", node.Args, tc.want)
	}
}

// NetworkPolicy enforcement is on by default and has its own switch.
func TestRenderNetworkPolicySwitch(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--network-policy=true"},
		{[]string{"--set", "network.networkPolicy=false"}, "--network-policy=false"},
	} {
		m := renderChart(t, tc.args...)
		var ds appsv1.DaemonSet
		m.decode(t, "DaemonSet", renderFullname+"-node", &ds)
		node := renderContainer(t, ds.Spec.Template.Spec.Containers, "plinth-node")
		renderWantArgs(t, "plinth-node", node.Args, tc.want)
	}
}

func TestRenderSnapshotClassNeedsTheSnapshotAPI(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want bool
	}{
		{name: "the chart installs the CRDs", want: true},
		{name: "no CRDs and no API in the cluster", args: []string{"--set", "crds.snapshot=false"}},
		{
			name: "no CRDs but the cluster serves the API",
			args: []string{"--set", "crds.snapshot=false", "--api-versions", "snapshot.storage.k8s.io/v1/VolumeSnapshotClass"},
			want: true,
		},
		{name: "class switched off", args: []string{"--set", "snapshotClass.create=false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := renderChart(t, tc.args...)
			if got := len(m.ofKind("VolumeSnapshotClass")) == 1; got != tc.want {
				t.Errorf("VolumeSnapshotClass rendered: %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRenderIncludesTheCRDSetsThatAreOn(t *testing.T) {
	plinthCRDNames := []string{
		"clusternetworks.network.plinth.dev",
		"snapshotschedules.storage.plinth.dev",
		"storagepools.storage.plinth.dev",
	}
	snapshotCRDNames := []string{
		"volumesnapshotclasses.snapshot.storage.k8s.io",
		"volumesnapshotcontents.snapshot.storage.k8s.io",
		"volumesnapshots.snapshot.storage.k8s.io",
	}
	for _, tc := range []struct {
		name string
		set  string
		want []string
	}{
		{name: "both sets by default", want: slices.Concat(plinthCRDNames, snapshotCRDNames)},
		{name: "snapshot CRDs only", set: "crds.plinth=false", want: snapshotCRDNames},
		{name: "Plinth CRDs only", set: "crds.snapshot=false", want: plinthCRDNames},
		{name: "none", set: "crds.plinth=false,crds.snapshot=false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"--include-crds"}
			if tc.set != "" {
				args = append(args, "--set", tc.set)
			}
			var got []string
			for _, crd := range renderChart(t, args...).ofKind("CustomResourceDefinition") {
				got = append(got, crd.GetName())
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("CRDs = %v, want %v", got, want)
			}
		})
	}
}

func TestRenderFlippedValuesReachTheManifests(t *testing.T) {
	m := renderChart(t, "--values", renderFlippedValues(t))

	t.Run("DaemonSet", func(t *testing.T) { renderCheckFlippedDaemonSet(t, m) })
	t.Run("Deployment", func(t *testing.T) { renderCheckFlippedDeployment(t, m) })
	t.Run("StorageClass and CSIDriver", func(t *testing.T) { renderCheckFlippedClasses(t, m) })

	t.Run("optional objects", func(t *testing.T) {
		if m.has("VolumeSnapshotClass", "fast-local-snapshots") {
			t.Error("VolumeSnapshotClass rendered without the snapshot CRDs or API")
		}
		if m.has("Job", renderFullname+"-namespace-labels") {
			t.Error("the namespace-labels hook is rendered with namespace.podSecurityLabels=false")
		}
		for _, component := range []string{"controller", "node"} {
			sm := m.lookup("ServiceMonitor", renderFullname+"-"+component)
			if sm == nil {
				t.Errorf("no ServiceMonitor for the %s", component)
				continue
			}
			if sm.GetLabels()["release"] != "prometheus" {
				t.Errorf("ServiceMonitor %s labels %v lack release=prometheus", sm.GetName(), sm.GetLabels())
			}
			endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
			for _, e := range endpoints {
				if interval := e.(map[string]any)["interval"]; interval != "1m" {
					t.Errorf("ServiceMonitor %s endpoint interval = %v, want 1m", sm.GetName(), interval)
				}
			}
		}
		cn := m.lookup("ClusterNetwork", "default")
		if cn == nil {
			t.Fatal("no ClusterNetwork with network.clusterNetwork.create=true")
		}
		cidrs, _, _ := unstructured.NestedStringSlice(cn.Object, "spec", "podCIDRs")
		ipv4, _, _ := unstructured.NestedFieldNoCopy(cn.Object, "spec", "nodeMaskSize", "ipv4")
		mtu, _, _ := unstructured.NestedFieldNoCopy(cn.Object, "spec", "mtu")
		mode, _, _ := unstructured.NestedString(cn.Object, "spec", "mode")
		if !slices.Equal(cidrs, []string{"10.244.0.0/16", "fd00:10:244::/56"}) || renderNumber(ipv4) != 26 || renderNumber(mtu) != 1450 || mode != "vxlan" {
			t.Errorf("ClusterNetwork spec = %v", cn.Object["spec"])
		}
	})

	t.Run("self-test", func(t *testing.T) {
		var pod corev1.Pod
		m.decode(t, "Pod", renderFullname+"-selftest", &pod)
		c := renderContainer(t, pod.Spec.Containers, "selftest")
		renderWantArgs(t, "selftest", c.Args, "--size=1Gi", "--timeout=90s", "--storage-class=fast-local",
			"--image=registry.example.com/mirror/plinth-controller:v9.9.9")
	})
}

// renderNumber converts a number decoded from YAML (int64 or float64) to a
// float64, or -1 for anything else.
func renderNumber(v any) float64 {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case float64:
		return n
	}
	return -1
}

func renderCheckFlippedDaemonSet(t *testing.T, m renderManifest) {
	var ds appsv1.DaemonSet
	m.decode(t, "DaemonSet", renderFullname+"-node", &ds)
	spec := &ds.Spec.Template.Spec
	node := renderContainer(t, spec.Containers, "plinth-node")
	if node.Image != "registry.example.com/mirror/plinth-node:v9.9.9" || node.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("image %q pulled %s, want registry.example.com/mirror/plinth-node:v9.9.9 pulled Always", node.Image, node.ImagePullPolicy)
	}
	if want := []corev1.LocalObjectReference{{Name: "regcred"}}; !slices.Equal(spec.ImagePullSecrets, want) {
		t.Errorf("imagePullSecrets = %v, want %v", spec.ImagePullSecrets, want)
	}
	paths := renderHostPaths(spec)
	for volume, want := range map[string]string{"kubelet-dir": "/data/kubelet", "pool": "/mnt/plinth"} {
		if paths[volume] != want {
			t.Errorf("host path of %s = %q, want %q", volume, paths[volume], want)
		}
		if mount := renderMount(t, &node, volume); mount.MountPath != want {
			t.Errorf("mount of %s at %q, want %q", volume, mount.MountPath, want)
		}
	}
	renderWantArgs(t, "plinth-node", node.Args,
		"--csi-endpoint=unix:///data/kubelet/plugins/local.csi.example.com/csi.sock",
		"--kubelet-registry-dir=/data/kubelet/plugins_registry", "--pool-dir=/mnt/plinth",
		"--over-provision-ratio=2.5", "--default-fstype=xfs", "--max-volumes-per-node=100", "--workers=4",
		"--kube-api-qps=20", "--kube-api-burst=40", "--capacity-resync=30s", "--metrics-bind-address=:19809",
		"--csi-metrics-bind-address=127.0.0.1:19808", "--health-probe-bind-address=$(POD_IP):19810", "--zap-log-level=3", "--network=false",
		// Without plinth-controller's node-label controller, nobody marks
		// the unclaimed objects: the node caches them all.
		"--cache-own-objects-only=false")
	wantResources := map[string]string{"requests.cpu": "100m", "requests.memory": "128Mi", "limits.cpu": "2", "limits.memory": "1Gi"}
	gotResources := map[string]string{}
	for name, q := range node.Resources.Requests {
		gotResources["requests."+string(name)] = q.String()
	}
	for name, q := range node.Resources.Limits {
		gotResources["limits."+string(name)] = q.String()
	}
	if !renderMapsEqual(gotResources, wantResources) {
		t.Errorf("resources = %v, want %v", gotResources, wantResources)
	}
	if !renderMapsEqual(spec.NodeSelector, map[string]string{"example.com/storage": "true"}) {
		t.Errorf("nodeSelector = %v", spec.NodeSelector)
	}
	wantTolerations := []corev1.Toleration{{Key: "example.com/storage", Operator: corev1.TolerationOpEqual, Value: "true", Effect: corev1.TaintEffectNoSchedule}}
	if !slices.Equal(spec.Tolerations, wantTolerations) {
		t.Errorf("tolerations = %+v, want %+v", spec.Tolerations, wantTolerations)
	}
	if spec.Affinity == nil || spec.Affinity.NodeAffinity == nil || spec.PriorityClassName != "storage-critical" {
		t.Errorf("affinity %+v, priorityClassName %q; want the node affinity and storage-critical", spec.Affinity, spec.PriorityClassName)
	}
	if got := ds.Spec.Template.Annotations["example.com/owner"]; got != "storage-team" {
		t.Errorf("pod annotation example.com/owner = %q, want storage-team", got)
	}
}

func renderCheckFlippedDeployment(t *testing.T, m renderManifest) {
	var d appsv1.Deployment
	m.decode(t, "Deployment", renderFullname+"-controller", &d)
	spec := &d.Spec.Template.Spec
	c := renderContainer(t, spec.Containers, "plinth-controller")
	renderWantArgs(t, "plinth-controller", c.Args, "--leader-elect=false",
		"--metrics-bind-address=:18080", "--health-probe-bind-address=$(POD_IP):18081",
		"--kube-api-qps=25.5", "--kube-api-burst=50", "--zap-log-level=debug",
		"--enable-node-ipam=false", "--enable-node-picker=false", "--enable-node-gone=false", "--enable-node-label=false",
		"--enable-snapshot-controller=false", "--enable-snapshotschedule=false")
	// plinth-controller's own ClusterRole only reviews the tokens and
	// access of its metrics scrapers.
	if len(m.ofKind("ClusterRole")) != 3 || !m.has("ClusterRole", renderFullname+"-node") ||
		!m.has("ClusterRole", renderFullname+"-controller") || !m.has("ClusterRole", renderFullname+"-metrics-reader") {
		t.Errorf("with every controller off only plinth-node's, plinth-controller's own and the metrics-reader ClusterRoles should remain, got %d ClusterRoles",
			len(m.ofKind("ClusterRole")))
	}
	if spec.NodeSelector["node-role.kubernetes.io/control-plane"] != "" || len(spec.NodeSelector) != 1 ||
		len(spec.Tolerations) != 1 || spec.Affinity == nil || spec.Affinity.PodAntiAffinity == nil {
		t.Errorf("nodeSelector %v, tolerations %v, affinity %+v; want the controller's", spec.NodeSelector, spec.Tolerations, spec.Affinity)
	}
	if cpu := c.Resources.Requests.Cpu().String(); cpu != "500m" {
		t.Errorf("cpu request = %s, want 500m", cpu)
	}
}

func renderCheckFlippedClasses(t *testing.T, m renderManifest) {
	var driver storagev1.CSIDriver
	m.decode(t, "CSIDriver", "local.csi.example.com", &driver)
	if p := driver.Spec.FSGroupPolicy; p == nil || *p != storagev1.NoneFSGroupPolicy {
		t.Errorf("fsGroupPolicy = %v, want None", p)
	}
	if modes := driver.Spec.VolumeLifecycleModes; !slices.Equal(modes, []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent}) {
		t.Errorf("volumeLifecycleModes = %v, want [Persistent]", modes)
	}
	var sc storagev1.StorageClass
	m.decode(t, "StorageClass", "fast-local", &sc)
	if _, ok := sc.Annotations["storageclass.kubernetes.io/is-default-class"]; ok {
		t.Error("a non-default StorageClass has the is-default-class annotation")
	}
	if sc.Provisioner != "local.csi.example.com" || sc.ReclaimPolicy == nil || *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimRetain ||
		sc.VolumeBindingMode == nil || *sc.VolumeBindingMode != storagev1.VolumeBindingImmediate ||
		sc.AllowVolumeExpansion == nil || *sc.AllowVolumeExpansion {
		t.Errorf("StorageClass = provisioner %s, reclaimPolicy %v, volumeBindingMode %v, allowVolumeExpansion %v",
			sc.Provisioner, sc.ReclaimPolicy, sc.VolumeBindingMode, sc.AllowVolumeExpansion)
	}
	if want := map[string]string{"csi.storage.k8s.io/fstype": "xfs", "example.com/tier": "fast"}; !renderMapsEqual(sc.Parameters, want) {
		t.Errorf("parameters = %v, want %v", sc.Parameters, want)
	}
	if !slices.Equal(sc.MountOptions, []string{"noatime"}) {
		t.Errorf("mountOptions = %v, want [noatime]", sc.MountOptions)
	}
	if len(sc.AllowedTopologies) != 1 || len(sc.AllowedTopologies[0].MatchLabelExpressions) != 1 ||
		sc.AllowedTopologies[0].MatchLabelExpressions[0].Key != "topology.kubernetes.io/zone" {
		t.Errorf("allowedTopologies = %+v, want zone-a", sc.AllowedTopologies)
	}
}

// renderMapsEqual reports whether two string maps hold the same entries.
func renderMapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// schemaError is how helm introduces a values schema violation.
const schemaError = "values don't meet the specifications of the schema"

// templateError is how helm introduces a `fail` in a template.
const templateError = "execution error at (plinth/templates/validate.yaml"

func TestSchemaRejectsBadValues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		set    string   // a --set argument
		values string   // or the content of a values file
		want   []string // all in helm's error: the key at fault and what is wrong
	}{
		// Types and unknown keys.
		{name: "a word for a number", set: "controller.replicas=two", want: []string{schemaError, "'/controller/replicas'", "want integer"}},
		{name: "a string for a boolean", values: "node:\n  enabled: \"yes\"\n", want: []string{schemaError, "'/node/enabled'", "want boolean"}},
		{name: "a number for the image tag", set: "image.tag=1", want: []string{schemaError, "'/image/tag'", "want string"}},
		{name: "objects for pull secret names", values: "image:\n  pullSecrets: [{name: regcred}]\n", want: []string{schemaError, "'/image/pullSecrets/0'", "want string"}},
		{name: "a number in the driver parameters", set: "storageClass.parameters.iops=3000", want: []string{schemaError, "'/storageClass/parameters/iops'", "want string"}},
		{name: "an unknown top-level key", set: "nodes.enabled=false", want: []string{schemaError, "additional properties 'nodes' not allowed"}},
		{name: "an unknown node key", set: "node.poolDirr=/srv", want: []string{schemaError, "'/node'", "'poolDirr' not allowed"}},
		{name: "an unknown controller", set: "controller.controllers.nodeIPAM=false", want: []string{schemaError, "'/controller/controllers'", "'nodeIPAM' not allowed"}},
		{name: "an unknown resources key", set: "node.resources.limit.memory=1Gi", want: []string{schemaError, "'/node/resources'", "'limit' not allowed"}},
		{name: "a required key removed", set: "driver.name=null", want: []string{schemaError, "'/driver'", "missing property 'name'"}},
		// Enums.
		{name: "fsGroupPolicy", set: "driver.fsGroupPolicy=Always", want: []string{schemaError, "'/driver/fsGroupPolicy'", "'File', 'ReadWriteOnceWithFSType', 'None'"}},
		{name: "pullPolicy", set: "image.pullPolicy=always", want: []string{schemaError, "'/image/pullPolicy'"}},
		{name: "defaultFsType", set: "node.defaultFsType=zfs", want: []string{schemaError, "'/node/defaultFsType'", "'ext4', 'xfs'"}},
		{name: "fsType", set: "storageClass.fsType=btrfs", want: []string{schemaError, "'/storageClass/fsType'"}},
		{name: "reclaimPolicy", set: "storageClass.reclaimPolicy=Recycle", want: []string{schemaError, "'/storageClass/reclaimPolicy'"}},
		{name: "volumeBindingMode", set: "storageClass.volumeBindingMode=Lazy", want: []string{schemaError, "'/storageClass/volumeBindingMode'"}},
		{name: "deletionPolicy", set: "snapshotClass.deletionPolicy=delete", want: []string{schemaError, "'/snapshotClass/deletionPolicy'"}},
		{name: "network mode", set: "network.mode=geneve", want: []string{schemaError, "'/network/mode'", "'auto', 'host-gw', 'vxlan'"}},
		{name: "log level", set: "controller.logLevel=verbose", want: []string{schemaError, "'/controller/logLevel'"}},
		{name: "toleration operator", set: "node.tolerations[0].operator=exists", want: []string{schemaError, "'/node/tolerations/0/operator'"}},
		// Ranges.
		{name: "port 0", set: "controller.metricsPort=0", want: []string{schemaError, "'/controller/metricsPort'", "minimum"}},
		{name: "port above 65535", set: "node.healthPort=70000", want: []string{schemaError, "'/node/healthPort'", "maximum"}},
		{name: "no replicas", set: "controller.replicas=0", want: []string{schemaError, "'/controller/replicas'", "minimum"}},
		{name: "no workers", set: "node.workers=0", want: []string{schemaError, "'/node/workers'", "minimum"}},
		{name: "zero qps", set: "node.kubeApiQps=0", want: []string{schemaError, "'/node/kubeApiQps'", "exclusiveMinimum"}},
		{name: "zero burst", set: "controller.kubeApiBurst=0", want: []string{schemaError, "'/controller/kubeApiBurst'", "minimum"}},
		{name: "zero over-provisioning", set: "node.overProvisionRatio=0", want: []string{schemaError, "'/node/overProvisionRatio'", "exclusiveMinimum"}},
		{name: "negative volume limit", set: "node.maxVolumesPerNode=-1", want: []string{schemaError, "'/node/maxVolumesPerNode'", "minimum"}},
		{name: "MTU below IPv6's minimum", set: "network.mtu=1000", want: []string{schemaError, "'/network/mtu'", "want 1,280"}},
		{name: "MTU above jumbo frames", set: "network.mtu=10000", want: []string{schemaError, "'/network/mtu'", "want 9,216"}},
		{name: "IPv4 node mask", set: "network.clusterNetwork.nodeMaskSizeIpv4=31", want: []string{schemaError, "'/network/clusterNetwork/nodeMaskSizeIpv4'", "maximum"}},
		{name: "IPv6 node mask", set: "network.clusterNetwork.nodeMaskSizeIpv6=40", want: []string{schemaError, "'/network/clusterNetwork/nodeMaskSizeIpv6'", "minimum"}},
		// Patterns.
		{name: "relative kubelet dir", set: "node.kubeletDir=var/lib/kubelet", want: []string{schemaError, "'/node/kubeletDir'", "does not match pattern '^/'"}},
		{name: "relative pool dir", set: "node.poolDir=pool", want: []string{schemaError, "'/node/poolDir'"}},
		{name: "relative CNI config dir", set: "network.cniConfDir=etc/cni/net.d", want: []string{schemaError, "'/network/cniConfDir'"}},
		{name: "IPv4 CIDR prefix too long", set: "network.clusterCidrs={10.0.0.0/33}", want: []string{schemaError, "'/network/clusterCidrs/0'", "'10.0.0.0/33' does not match"}},
		{name: "address without a prefix", set: "network.clusterNetwork.podCidrs={10.244.0.0}", want: []string{schemaError, "'/network/clusterNetwork/podCidrs/0'"}},
		{name: "malformed IPv6 CIDR", set: "network.clusterCidrs={fd00:::/48}", want: []string{schemaError, "'/network/clusterCidrs/0'"}},
		{name: "two IPv4 pod CIDRs", set: "network.clusterNetwork.podCidrs={10.244.0.0/16,10.245.0.0/16}", want: []string{schemaError, "'/network/clusterNetwork/podCidrs'", "max 1 items"}},
		{name: "ClusterNetwork without pod CIDRs", values: "network:\n  clusterNetwork:\n    create: true\n    podCidrs: []\n", want: []string{schemaError, "'/network/clusterNetwork/podCidrs'"}},
		{name: "duration with a word unit", set: "node.capacityResync=1min", want: []string{schemaError, "'/node/capacityResync'"}},
		{name: "duration without a unit", set: "test.timeout=180", want: []string{schemaError, "'/test/timeout'"}},
		{name: "fractional scrape interval", set: "metrics.serviceMonitor.interval=1.5m", want: []string{schemaError, "'/metrics/serviceMonitor/interval'"}},
		{name: "size in MB", set: "test.size=64MB", want: []string{schemaError, "'/test/size'"}},
		{name: "memory limit not a quantity", set: "node.resources.limits.memory=lots", want: []string{schemaError, "'/node/resources/limits/memory'"}},
		{name: "driver name with capitals", set: "driver.name=CSI.Plinth.dev", want: []string{schemaError, "'/driver/name'"}},
		{name: "StorageClass name with underscore", set: "storageClass.name=fast_local", want: []string{schemaError, "'/storageClass/name'"}},
		{name: "empty VolumeSnapshotClass name", set: "snapshotClass.name=", want: []string{schemaError, "'/snapshotClass/name'"}},
		{name: "empty image registry", set: "image.registry=", want: []string{schemaError, "'/image/registry'"}},
		{name: "fstype among the parameters", values: "storageClass:\n  parameters:\n    csi.storage.k8s.io/fstype: xfs\n", want: []string{schemaError, "'/storageClass/parameters/csi.storage.k8s.io~1fstype'"}},
		// Across keys.
		{name: "restricted namespace with plinth-node", set: "namespace.podSecurityLevel=restricted", want: []string{schemaError, "'/namespace/podSecurityLevel'", "value must be 'privileged'"}},
		{name: "two node ports alike", set: "node.healthPort=9809", want: []string{templateError, "node.healthPort and node.metricsPort are both 9809"}},
		{name: "two controller ports alike", set: "controller.metricsPort=9813", want: []string{templateError, "controller.healthPort and controller.metricsPort are both 9813"}},
		{name: "controller port on the nodes' network taken by plinth-node", set: "controller.metricsPort=9809", want: []string{templateError, "controller.metricsPort and node.metricsPort are both 9809"}},
		{
			name: "node mask not longer than the pod CIDR",
			set:  "network.clusterNetwork.create=true,network.clusterNetwork.podCidrs={10.244.0.0/16,fd00::/80}",
			want: []string{templateError, "network.clusterNetwork.nodeMaskSizeIpv6 (80) must be longer than the prefix of pod CIDR fd00::/80"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, stderr, err := helm(t, nil, renderSchemaArgs(t, tc.set, tc.values)...)
			if err == nil {
				t.Fatalf("helm template accepted the values (set %q, values %q)", tc.set, tc.values)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("helm's error does not mention %q:\n%s", w, stderr)
				}
			}
		})
	}
}

func TestSchemaAcceptsGoodValues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		set    string
		values string
	}{
		{name: "restricted namespace without plinth-node", set: "node.enabled=false,namespace.podSecurityLevel=restricted"},
		{name: "restricted level without the labelling hook", set: "namespace.podSecurityLabels=false,namespace.podSecurityLevel=restricted"},
		{name: "smallest MTU", set: "network.mtu=1280"},
		{name: "largest MTU", set: "network.mtu=9216"},
		{name: "integer log level", set: "node.logLevel=4,controller.logLevel=panic"},
		{name: "IPv6-only ClusterNetwork", set: "network.clusterNetwork.create=true,network.clusterNetwork.podCidrs={fd00:10:244::/56}"},
		{name: "dual-stack cluster CIDRs", set: "network.clusterCidrs={10.244.0.0/16,fd00:10:244::/56,::/0}"},
		{name: "compound durations", set: "node.capacityResync=1h30m,test.timeout=2.5m,metrics.serviceMonitor.interval=1m30s"},
		{name: "numeric and exponent quantities", values: "node:\n  resources:\n    requests: {cpu: 0.25, memory: 1e9}\n    limits: {cpu: 2}\ntest:\n  size: 1.5Gi\n"},
		{name: "no priority class", set: "node.priorityClassName=,controller.priorityClassName="},
		{name: "pre-release tag", set: "image.tag=v1.2.3-rc.1"},
		{name: "registry with a port", set: "image.registry=localhost:5000/plinth"},
		{name: "globals of a parent chart", set: "global.imageRegistry=mirror.example.com"},
		{name: "tolerations removed", set: "node.tolerations=null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, stderr, err := helm(t, nil, renderSchemaArgs(t, tc.set, tc.values)...); err != nil {
				t.Errorf("helm template rejected the values (set %q, values %q): %v\n%s", tc.set, tc.values, err, stderr)
			}
		})
	}
}

// renderSchemaArgs returns the arguments of a `helm template` of the chart
// with one --set argument and the values of a file, each if not empty.
func renderSchemaArgs(t *testing.T, set, values string) []string {
	t.Helper()
	args := []string{"template", renderRelease, chartDir(t), "--namespace", renderNamespace}
	if set != "" {
		args = append(args, "--set", set)
	}
	if values != "" {
		path := filepath.Join(t.TempDir(), "values.yaml")
		if err := os.WriteFile(path, []byte(values), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--values", path)
	}
	return args
}
