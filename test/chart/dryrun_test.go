package chart_test

import (
	"os/exec"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/yaml"
)

// flippedValues turn every switch the other way (and rename the
// cluster-scoped objects, whose immutable fields would otherwise clash with
// the installed release's). ServiceMonitor stays off: the control plane has
// no Prometheus Operator CRDs.
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
}

// dryRunRendered sends the chart's rendering (with defaults and with every
// switch flipped, hooks and tests included), the kustomize bases and the
// samples to the API server as server-side dry-run applies: the real API
// server validates every object against its schema, CRDs included (they are
// installed by the release at this point).
func (cc *chartCluster) dryRunRendered(t *testing.T) {
	const ns = "dryrun"
	if err := cc.cp.CreateNamespace(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	renders := map[string][]string{
		"chart defaults":       {"template", "dryrun", chartDir(t), "-n", ns},
		"chart flipped values": append([]string{"template", "dryrun", chartDir(t), "-n", ns}, flippedValues...),
	}
	for name, args := range renders {
		t.Run(name, func(t *testing.T) {
			cc.dryRunApply(t, mustHelm(t, nil, args...))
		})
	}
	for _, dir := range []string{"config/default", "config/samples"} {
		t.Run(dir, func(t *testing.T) {
			cc.dryRunApply(t, kustomizeBuild(t, repoPath(t, dir)))
		})
	}
}

// dryRunApply applies manifests with server-side dry-run and fails with the
// API server's message for any object it rejects.
func (cc *chartCluster) dryRunApply(t *testing.T, manifests string) {
	if strings.Count(manifests, "\nkind:") == 0 {
		t.Fatal("nothing rendered")
	}
	// Pod admission looks the pod's ServiceAccount up, which a dry run
	// does not create: create the missing ServiceAccounts for real first
	// (existing ones belong to the installed release and stay untouched).
	for _, sa := range serviceAccounts(t, manifests) {
		if err := cc.cp.Client.Create(t.Context(), sa); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("failed to create ServiceAccount %s: %v", sa.Name, err)
		}
	}
	out, err := cc.kubectl(t, manifests, "apply", "--server-side", "--force-conflicts", "--dry-run=server",
		"--field-manager=chart-test", "-f", "-")
	if err != nil {
		t.Fatalf("server-side dry-run rejected the manifests: %v\n%s", err, out)
	}
	if n := strings.Count(out, "(server dry run)"); n == 0 {
		t.Errorf("no object was validated:\n%s", out)
	}
}

// kustomizeBuild runs bin/kustomize (installed by `make kustomize`).
func kustomizeBuild(t *testing.T, dir string) string {
	bin := repoPath(t, "bin", "kustomize")
	out, err := exec.Command(bin, "build", dir).Output()
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return string(out)
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
