package hostrun_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/hostrun"
	"github.com/plinth-dev/plinth/test/prereq"
)

const (
	namespace      = "hostrun"
	serviceAccount = "fake-sa"
	imagePrefix    = "example.test/plinth/"
	fakeImage      = imagePrefix + "fake-component:v1"
	waitTimeout    = 90 * time.Second
)

// cluster is a control plane with two simulated nodes played by a Runner.
type cluster struct {
	cp      *controlplane.ControlPlane
	runner  *hostrun.Runner
	root    string
	logPath string
}

// TestRunnerPlaysKubelet installs workloads into a real control plane and
// checks that the runner runs their pods as a kubelet would.
func TestRunnerPlaysKubelet(t *testing.T) {
	c := startCluster(t)
	ctx := t.Context()
	t.Run("a deployment with an init container, a hostPath, a port and a readiness probe becomes available", func(t *testing.T) {
		c.assertDeploymentAvailable(ctx, t)
	})
	t.Run("processes authenticate as their pod's service account, never as the admin", func(t *testing.T) {
		c.assertIdentity(ctx, t)
	})
	t.Run("a daemonset declaring one port becomes available on both nodes", func(t *testing.T) {
		c.assertDaemonSetAvailable(ctx, t)
	})
	t.Run("a job completes", func(t *testing.T) {
		c.assertJobCompletes(ctx, t)
	})
	t.Run("a container exiting non-zero under restartPolicy Always restarts", func(t *testing.T) {
		c.assertRestarts(ctx, t)
	})
	t.Run("deleting a deployment kills its processes and removes its pods", func(t *testing.T) {
		c.assertDeletion(ctx, t)
	})
	t.Run("a pod with an image outside the prefix is left pending", func(t *testing.T) {
		c.assertForeignPodLeftAlone(ctx, t)
	})
	t.Run("an unsupported environment variable fails the pod with the reason", func(t *testing.T) {
		c.assertUnsupportedEnvFails(ctx, t)
	})
	t.Run("a registering CSI plugin is listed in CSINode and labels the node, again after a restart", func(t *testing.T) {
		c.assertPluginRegistration(ctx, t)
	})
}

func startCluster(t *testing.T) *cluster {
	cp := controlplane.StartForTest(t, controlplane.Options{Nodes: []controlplane.NodeSpec{
		{Name: "node-1", Zone: "zone-a"},
		{Name: "node-2", Zone: "zone-b"},
	}})
	ctx := t.Context()
	if err := cp.WaitForNodesReady(ctx, waitTimeout); err != nil {
		t.Fatal(err)
	}
	c := &cluster{cp: cp, root: shortTempDir(t), logPath: filepath.Join(cp.Dir, "logs", "hostrun.log")}
	runner, err := hostrun.Start(ctx, hostrun.Options{
		Config:      cp.Config,
		Nodes:       []string{"node-1", "node-2"},
		Root:        c.root,
		BinDir:      buildFakeComponent(t),
		ImagePrefix: imagePrefix,
		Namespaces:  []string{namespace},
		Logger:      c.logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	c.runner = runner
	t.Cleanup(func() {
		if err := runner.Stop(); err != nil {
			t.Errorf("failed to stop the runner: %v", err)
		}
		for _, path := range runner.LogFiles() {
			cp.AddLog(filepath.Base(path), path)
		}
	})
	if err := cp.CreateNamespace(ctx, namespace); err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: serviceAccount}}
	if err := cp.Client.Create(ctx, sa); err != nil {
		t.Fatal(err)
	}
	return c
}

// logger writes the runner's log into a file that a failed test reports.
func (c *cluster) logger(t *testing.T) logr.Logger {
	f, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	c.cp.AddLog("hostrun", c.logPath)
	return zap.New(zap.WriteTo(f), zap.UseDevMode(true))
}

// shortTempDir keeps unix socket paths under the node roots short.
func shortTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "hostrun-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func buildFakeComponent(t *testing.T) string {
	prereq.Commands(t, "go")
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "fake-component"), "./testdata/fakecomponent")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("failed to build fake-component: %v\n%s", err, out)
	}
	return dir
}

func (c *cluster) assertDeploymentAvailable(ctx context.Context, t *testing.T) {
	c.create(ctx, t, webDeployment())
	poll(ctx, t, "deployment web available", func(ctx context.Context) (bool, error) {
		d := &appsv1.Deployment{}
		err := c.cp.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "web"}, d)
		return err == nil && deploymentAvailable(d), err
	})
	for _, file := range []string{"init.pid", "web.pid"} {
		if _, err := os.Stat(filepath.Join(c.root, "node-2", "var/lib/fake", file)); err != nil {
			t.Errorf("file of the hostPath volume is not under the node root: %v", err)
		}
	}
	pod := c.onlyPod(ctx, t, "web")
	if pod.Status.PodIP != pod.Status.HostIP || pod.Status.HostIP == "" {
		t.Errorf("host-network pod has IP %q, want the node's %q", pod.Status.PodIP, pod.Status.HostIP)
	}
	if port := c.runner.HostPorts(namespace, pod.Name)[8080]; port == 0 || port == 8080 {
		t.Errorf("container port 8080 mapped to host port %d, want a free port", port)
	}
}

func deploymentAvailable(d *appsv1.Deployment) bool {
	for _, cond := range d.Status.Conditions {
		if cond.Type == appsv1.DeploymentAvailable {
			return cond.Status == corev1.ConditionTrue && d.Status.AvailableReplicas == 1
		}
	}
	return false
}

func (c *cluster) assertIdentity(ctx context.Context, t *testing.T) {
	pod := c.onlyPod(ctx, t, "web")
	log := filepath.Join(c.root, "_logs", namespace+"_"+pod.Name+"_web.log")
	want := "authenticated as system:serviceaccount:" + namespace + ":" + serviceAccount
	poll(ctx, t, "identity in the container log", func(context.Context) (bool, error) {
		data, err := os.ReadFile(log)
		return strings.Contains(string(data), want), ignoreNotExist(err)
	})
	environ, err := os.ReadFile("/proc/" + strconv.Itoa(c.webPID(t)) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range strings.Split(string(environ), "\x00") {
		if strings.HasPrefix(v, "KUBECONFIG=") && strings.Contains(v, c.cp.KubeconfigPath) {
			t.Errorf("process got the admin kubeconfig: %s", v)
		}
	}
}

func (c *cluster) webPID(t *testing.T) int {
	data, err := os.ReadFile(filepath.Join(c.root, "node-2", "var/lib/fake", "web.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(data))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func (c *cluster) assertDaemonSetAvailable(ctx context.Context, t *testing.T) {
	labels := map[string]string{"app": "agent"}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "agent"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: podTemplate(labels, fakeContainer("agent", "--readyz-address=0.0.0.0:9808")),
		},
	}
	ds.Spec.Template.Spec.HostNetwork = true
	ds.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 9808}}
	ds.Spec.Template.Spec.Containers[0].ReadinessProbe = httpProbe(intstr.FromInt32(9808))
	c.create(ctx, t, ds)
	poll(ctx, t, "daemonset agent available on both nodes", func(ctx context.Context) (bool, error) {
		err := c.cp.Client.Get(ctx, client.ObjectKeyFromObject(ds), ds)
		return err == nil && ds.Status.DesiredNumberScheduled == 2 && ds.Status.NumberAvailable == 2, err
	})
}

func (c *cluster) assertJobCompletes(ctx context.Context, t *testing.T) {
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "once"},
		Spec: batchv1.JobSpec{
			Template: podTemplate(nil, fakeContainer("once", "--whoami", "--exit-after=100ms")),
		},
	}
	job.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	c.create(ctx, t, job)
	poll(ctx, t, "job once complete", func(ctx context.Context) (bool, error) {
		err := c.cp.Client.Get(ctx, client.ObjectKeyFromObject(job), job)
		for _, cond := range job.Status.Conditions {
			if cond.Type == batchv1.JobComplete && cond.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, err
	})
}

func (c *cluster) assertRestarts(ctx context.Context, t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "crasher"},
		Spec:       podTemplate(nil, fakeContainer("crasher", "--exit-after=100ms", "--exit-code=3")).Spec,
	}
	c.create(ctx, t, pod)
	poll(ctx, t, "pod crasher restarted", func(ctx context.Context) (bool, error) {
		err := c.cp.Client.Get(ctx, client.ObjectKeyFromObject(pod), pod)
		if err != nil || len(pod.Status.ContainerStatuses) == 0 {
			return false, err
		}
		st := pod.Status.ContainerStatuses[0]
		last := st.LastTerminationState.Terminated
		return st.RestartCount > 0 && last != nil && last.ExitCode == 3, nil
	})
}

func (c *cluster) assertDeletion(ctx context.Context, t *testing.T) {
	pid := c.webPID(t)
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "web"}}
	if err := c.cp.Client.Delete(ctx, d, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "pods of web deleted", func(ctx context.Context) (bool, error) {
		pods := &corev1.PodList{}
		err := c.cp.Client.List(ctx, pods, client.InNamespace(namespace), client.MatchingLabels{"app": "web"})
		return err == nil && len(pods.Items) == 0, err
	})
	// The runner deletes a pod object only once its processes are gone.
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d of the deleted pod still exists (kill 0: %v)", pid, err)
	}
}

func (c *cluster) assertForeignPodLeftAlone(ctx context.Context, t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "foreign"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "registry.example/other/thing:v1"}}},
	}
	c.create(ctx, t, pod)
	poll(ctx, t, "runner logs that it leaves pod foreign alone", func(context.Context) (bool, error) {
		data, err := os.ReadFile(c.logPath)
		return strings.Contains(string(data), "Leaving pod alone") && strings.Contains(string(data), namespace+"/foreign"), err
	})
	if err := c.cp.Client.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
		t.Fatal(err)
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase != corev1.PodPending || len(pod.Status.ContainerStatuses) != 0 {
		t.Errorf("pod foreign on %q is %s with %d container statuses, want Pending and untouched", pod.Spec.NodeName, pod.Status.Phase, len(pod.Status.ContainerStatuses))
	}
}

func (c *cluster) assertUnsupportedEnvFails(ctx context.Context, t *testing.T) {
	container := fakeContainer("main")
	container.Env = []corev1.EnvVar{{Name: "SECRET", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k",
	}}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "secret-env"}, Spec: podTemplate(nil, container).Spec}
	c.create(ctx, t, pod)
	poll(ctx, t, "pod secret-env failed", func(ctx context.Context) (bool, error) {
		err := c.cp.Client.Get(ctx, client.ObjectKeyFromObject(pod), pod)
		return err == nil && pod.Status.Phase == corev1.PodFailed, err
	})
	if !strings.Contains(pod.Status.Message, "env SECRET") {
		t.Errorf("status message %q does not name the variable", pod.Status.Message)
	}
}

func (c *cluster) create(ctx context.Context, t *testing.T, obj client.Object) {
	t.Helper()
	if err := c.cp.Client.Create(ctx, obj); err != nil {
		t.Fatalf("failed to create %T %s: %v", obj, obj.GetName(), err)
	}
}

func (c *cluster) onlyPod(ctx context.Context, t *testing.T, app string) *corev1.Pod {
	t.Helper()
	pods := &corev1.PodList{}
	if err := c.cp.Client.List(ctx, pods, client.InNamespace(namespace), client.MatchingLabels{"app": app}); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 {
		t.Fatalf("%d pods of %s, want 1", len(pods.Items), app)
	}
	return &pods.Items[0]
}

func webDeployment() *appsv1.Deployment {
	labels := map[string]string{"app": "web"}
	web := fakeContainer("web", "--readyz-address=:8080", "--write-file=/data/web.pid", "--whoami")
	web.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
	web.ReadinessProbe = httpProbe(intstr.FromString("http"))
	web.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	template := podTemplate(labels, web)
	init := fakeContainer("init", "--write-file=/data/init.pid", "--exit-after=1ms")
	init.VolumeMounts = web.VolumeMounts
	template.Spec.InitContainers = []corev1.Container{init}
	template.Spec.HostNetwork = true
	template.Spec.ServiceAccountName = serviceAccount
	template.Spec.NodeSelector = map[string]string{corev1.LabelHostname: "node-2"}
	template.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
		Path: "/var/lib/fake", Type: ptr.To(corev1.HostPathDirectoryOrCreate),
	}}}}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: template,
		},
	}
}

func podTemplate(labels map[string]string, containers ...corev1.Container) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: containers, TerminationGracePeriodSeconds: ptr.To[int64](5)},
	}
}

func fakeContainer(name string, args ...string) corev1.Container {
	return corev1.Container{Name: name, Image: fakeImage, Args: args}
}

func httpProbe(port intstr.IntOrString) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: port}},
		PeriodSeconds: 1,
	}
}

func ignoreNotExist(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// poll polls cond until it returns true, failing t at the deadline.
func poll(ctx context.Context, t *testing.T, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, waitTimeout, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
