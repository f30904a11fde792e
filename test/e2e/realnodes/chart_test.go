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

package realnodes

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
	"github.com/plinth-dev/plinth/test/devcluster"
)

// TestChartInstalledWithDefaultsRuns checks what `helm install` with the
// chart's defaults did on nodes that had no pod network: every component is
// up, `helm test` passes with its consumer pod really running, no component
// was refused a request, and the chart's renderings pass the API server's
// validation.
func TestChartInstalledWithDefaultsRuns(t *testing.T) {
	e := cluster(t)
	t.Run("the hook labels the namespace for Pod Security", func(t *testing.T) {
		ns := &corev1.Namespace{}
		if err := e.client.Get(t.Context(), client.ObjectKey{Name: releaseNS}, ns); err != nil {
			t.Fatal(err)
		}
		if got := ns.Labels["pod-security.kubernetes.io/enforce"]; got != "privileged" {
			t.Errorf("namespace enforce label = %q, want privileged", got)
		}
	})
	t.Run("every component is up", e.assertComponentsUp)
	t.Run("helm test passes", func(t *testing.T) {
		out, err := devcluster.Helm(t.Context(), e.cluster, e.helm, "test", devcluster.Release, "-n", releaseNS, "--timeout", "5m")
		if err != nil {
			t.Fatal(err)
		}
		// The self test waits for its consumer pod to run with the volume
		// mounted before it snapshots; the hook pod is gone once it passed.
		if !strings.Contains(out, "Phase:          Succeeded") || strings.Contains(out, "Phase:          Failed") {
			t.Errorf("helm test did not report success:\n%s", out)
		}
	})
	t.Run("the notes claim from the release's own class", func(t *testing.T) {
		notes, err := devcluster.Helm(t.Context(), e.cluster, e.helm, "get", "notes", devcluster.Release, "-n", releaseNS)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(notes, "storageClassName: plinth") || strings.Contains(notes, "config/samples") {
			t.Errorf("NOTES do not show a claim of the release's class alone:\n%s", notes)
		}
	})
	t.Run("no component was refused a request", func(t *testing.T) {
		if lines := e.forbiddenLines(t); len(lines) > 0 {
			t.Errorf("the chart's RBAC refused %d requests:\n%s", len(lines), strings.Join(lines, "\n"))
		}
	})
	t.Run("rendered manifests pass server-side validation", e.dryRunRendered)
}

// assertComponentsUp checks the chart's workloads and what they do at start.
func (e *env) assertComponentsUp(t *testing.T) {
	ds := &appsv1.DaemonSet{}
	e.poll(t, "plinth-node ready on every node", func(ctx context.Context) (bool, error) {
		err := e.client.Get(ctx, client.ObjectKey{Namespace: releaseNS, Name: "plinth-node"}, ds)
		return err == nil && ds.Status.NumberReady == int32(len(nodeSpecs)), err
	})
	dep := &appsv1.Deployment{}
	e.poll(t, "plinth-controller available", func(ctx context.Context) (bool, error) {
		err := e.client.Get(ctx, client.ObjectKey{Namespace: releaseNS, Name: "plinth-controller"}, dep)
		return err == nil && dep.Status.AvailableReplicas >= 1, err
	})
	for _, n := range nodeSpecs {
		e.poll(t, "CSINode of "+n.Name, func(ctx context.Context) (bool, error) {
			cn := &storagev1.CSINode{}
			err := e.client.Get(ctx, client.ObjectKey{Name: n.Name}, cn)
			return err == nil && slices.ContainsFunc(cn.Spec.Drivers, func(d storagev1.CSINodeDriver) bool {
				return d.Name == "csi.plinth.dev" && slices.Contains(d.TopologyKeys, "topology.kubernetes.io/zone")
			}), client.IgnoreNotFound(err)
		})
		e.poll(t, "StoragePool of "+n.Name+" ready", func(ctx context.Context) (bool, error) {
			p := &storagev1alpha1.StoragePool{}
			err := e.client.Get(ctx, client.ObjectKey{Name: n.Name}, p)
			return err == nil && meta.IsStatusConditionTrue(p.Status.Conditions, "Ready"), client.IgnoreNotFound(err)
		})
	}
	e.poll(t, "a CSIStorageCapacity per node", func(ctx context.Context) (bool, error) {
		list := &storagev1.CSIStorageCapacityList{}
		err := e.client.List(ctx, list, client.InNamespace(releaseNS))
		return err == nil && len(list.Items) >= len(nodeSpecs), err
	})
}

// forbiddenLines returns the lines of Plinth's pod logs on the nodes that
// report a request the API server refused.
func (e *env) forbiddenLines(t *testing.T) []string {
	var found []string
	for _, n := range e.cluster.Nodes {
		logs, err := filepath.Glob(filepath.Join(n.HostPath("/var/log/pods"), releaseNS+"_*", "*", "*.log"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range logs {
			found = append(found, grepFile(t, path, "forbidden")...)
		}
	}
	return found
}

func grepFile(t *testing.T, path, word string) []string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var found []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(strings.ToLower(sc.Text()), word) {
			found = append(found, filepath.Base(filepath.Dir(filepath.Dir(path)))+": "+sc.Text())
		}
	}
	return found
}

// flippedValues turn every switch the other way (and rename the
// cluster-scoped objects, whose immutable fields would otherwise clash with
// the installed release's). ServiceMonitor stays off: the cluster has no
// Prometheus Operator CRDs.
var flippedValues = []string{
	"--set", "crds.plinth=false,crds.snapshot=false",
	"--set", "namespace.podSecurityLabels=false",
	"--set", "driver.name=dryrun.csi.plinth.dev,driver.fsGroupPolicy=None,driver.ephemeralVolumes=false",
	"--set", "controller.replicas=1,controller.controllers.nodeIpam=false,controller.controllers.nodePicker=false,controller.controllers.nodeGone=false",
	"--set", "controller.controllers.snapshotController=false,controller.controllers.snapshotSchedule=false",
	"--set", "controller.nodeSelector.role=infra,controller.podAnnotations.a=b",
	"--set", "node.kubeletDir=/data/kubelet,node.poolDir=/data/pool,node.defaultFsType=xfs,node.maxVolumesPerNode=10",
	"--set", "node.nodeSelector.storage=local,node.tolerations=null",
	"--set", "network.mode=vxlan,network.masquerade=false,network.mtu=1400,network.clusterCidrs={10.44.0.0/16}",
	"--set", "network.clusterNetwork.create=true,network.clusterNetwork.podCidrs={10.244.0.0/16}", // podCIDRs are immutable
	"--set", "storageClass.name=dryrun-plinth,storageClass.default=false,storageClass.fsType=xfs,storageClass.reclaimPolicy=Retain",
	"--set", "storageClass.volumeBindingMode=Immediate,storageClass.allowVolumeExpansion=false,storageClass.mountOptions={noatime}",
	"--set", "storageClass.allowedTopologies[0].matchLabelExpressions[0].key=topology.kubernetes.io/zone",
	"--set", "storageClass.allowedTopologies[0].matchLabelExpressions[0].values={zone-a}",
	"--set", "snapshotClass.name=dryrun-plinth,snapshotClass.default=false,snapshotClass.deletionPolicy=Retain",
	"--set", "image.registry=registry.example.com/plinth,image.tag=v9.9.9,image.pullPolicy=Always,image.pullSecrets={regcred}",
	"--set", "controller.hostNetwork=false,uninstall.cleanupNodes=false",
}

// dryRunRendered sends the chart's rendering (defaults and every switch
// flipped, hooks and tests included), the kustomize bases and the samples to
// the API server as server-side dry-run applies.
func (e *env) dryRunRendered(t *testing.T) {
	ns := e.namespace(t, "dryrun")
	chart := filepath.Join(e.repo, "charts", "plinth")
	renders := map[string][]string{
		"chart defaults":       {"template", "dryrun", chart, "-n", ns},
		"chart flipped values": append([]string{"template", "dryrun", chart, "-n", ns}, flippedValues...),
	}
	for name, args := range renders {
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command(e.helm, args...).Output()
			if err != nil {
				t.Fatalf("helm %v: %v", args, err)
			}
			e.dryRunApply(t, string(out))
		})
	}
	for _, dir := range []string{"config/default", "config/samples"} {
		t.Run(dir, func(t *testing.T) {
			out, err := exec.Command(filepath.Join(e.repo, "bin", "kustomize"), "build", filepath.Join(e.repo, dir)).Output()
			if err != nil {
				t.Fatalf("kustomize build %s: %v", dir, err)
			}
			e.dryRunApply(t, string(out))
		})
	}
}

// dryRunApply applies manifests with server-side dry-run and fails with the
// API server's message for any object it rejects.
func (e *env) dryRunApply(t *testing.T, manifests string) {
	if strings.Count(manifests, "\nkind:") == 0 {
		t.Fatal("nothing rendered")
	}
	// Pod admission looks the pod's ServiceAccount up, which a dry run does
	// not create: create the missing ones for real first.
	for _, sa := range serviceAccounts(t, manifests) {
		if err := e.client.Create(t.Context(), sa); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("failed to create ServiceAccount %s: %v", sa.Name, err)
		}
	}
	cmd := exec.CommandContext(t.Context(), e.kubectl, "--kubeconfig", e.cluster.KubeconfigPath, "apply", "--server-side",
		"--force-conflicts", "--dry-run=server", "--field-manager=chart-test", "-f", "-")
	cmd.Stdin = strings.NewReader(manifests)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("server-side dry-run rejected the manifests: %v\n%s", err, out)
	}
	if strings.Count(string(out), "(server dry run)") == 0 {
		t.Errorf("no object was validated:\n%s", out)
	}
}

// serviceAccounts returns the ServiceAccounts of manifests.
func serviceAccounts(t *testing.T, manifests string) []*corev1.ServiceAccount {
	var sas []*corev1.ServiceAccount
	for _, doc := range strings.Split(manifests, "\n---") {
		if !strings.Contains(doc, "\nkind: ServiceAccount\n") {
			continue
		}
		sa := &corev1.ServiceAccount{}
		if err := yaml.Unmarshal([]byte(doc), sa); err != nil {
			t.Fatalf("failed to parse a ServiceAccount: %v\n%s", err, doc)
		}
		sas = append(sas, sa)
	}
	return sas
}
