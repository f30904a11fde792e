package hostrun

import (
	"fmt"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// skipReason says why the runner leaves a pod alone, or "" when it runs it:
// an image outside the prefix, a volume it cannot provide, or a sidecar.
func skipReason(pod *corev1.Pod, imagePrefix string) string {
	for _, c := range allContainers(pod) {
		if !strings.HasPrefix(c.Image, imagePrefix) {
			return fmt.Sprintf("image %s of container %s does not start with %q", c.Image, c.Name, imagePrefix)
		}
		if c.RestartPolicy != nil {
			return fmt.Sprintf("container %s is a sidecar (restartPolicy on a container), which is not supported", c.Name)
		}
		for _, m := range c.VolumeMounts {
			if m.SubPathExpr != "" {
				return fmt.Sprintf("mount %s of container %s uses subPathExpr, which is not supported", m.Name, c.Name)
			}
		}
	}
	for _, v := range pod.Spec.Volumes {
		if v.HostPath == nil && v.EmptyDir == nil && !ignoredVolume(v) {
			return fmt.Sprintf("volume %s is neither hostPath, emptyDir, projected, configMap nor downwardAPI", v.Name)
		}
	}
	return ""
}

// ignoredVolume reports a volume the pod runs without: its mount path stays
// a path inside the container that the host process cannot see.
func ignoredVolume(v corev1.Volume) bool {
	return v.Projected != nil || v.ConfigMap != nil || v.DownwardAPI != nil
}

// allContainers lists the init containers, then the containers.
func allContainers(pod *corev1.Pod) []*corev1.Container {
	all := make([]*corev1.Container, 0, len(pod.Spec.InitContainers)+len(pod.Spec.Containers))
	for i := range pod.Spec.InitContainers {
		all = append(all, &pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		all = append(all, &pod.Spec.Containers[i])
	}
	return all
}

// wantsToken reports whether the pod mounts a service account token, as
// the ServiceAccount admission plugin arranges unless automounting is off.
func wantsToken(pod *corev1.Pod) bool {
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if src.ServiceAccountToken != nil {
				return true
			}
		}
	}
	return false
}

// fieldValue resolves the downward-API fields the runner supports.
func fieldValue(pod *corev1.Pod, hostIP, podIP, field string) (string, error) {
	switch field {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP":
		return hostIP, nil
	case "status.podIP":
		return podIP, nil
	}
	return "", fmt.Errorf("fieldRef %s is not supported (only metadata.name, metadata.namespace, spec.nodeName, spec.serviceAccountName, status.hostIP and status.podIP)", field)
}

// containerEnv returns the container's variables in order, values expanded
// and rewritten for the host like arguments are.
func containerEnv(pod *corev1.Pod, c *corev1.Container, hostIP, podIP string, rewrite func(string) string) ([][2]string, error) {
	if len(c.EnvFrom) > 0 {
		return nil, fmt.Errorf("container %s: envFrom is not supported", c.Name)
	}
	vars := make([][2]string, 0, len(c.Env))
	defined := map[string]string{}
	for _, e := range c.Env {
		value, err := envValue(pod, e, hostIP, podIP)
		if err != nil {
			return nil, fmt.Errorf("container %s: env %s: %w", c.Name, e.Name, err)
		}
		value = rewrite(expand(value, lookupIn(defined)))
		defined[e.Name] = value
		vars = append(vars, [2]string{e.Name, value})
	}
	return vars, nil
}

func envValue(pod *corev1.Pod, e corev1.EnvVar, hostIP, podIP string) (string, error) {
	switch {
	case e.ValueFrom == nil:
		return e.Value, nil
	case e.ValueFrom.FieldRef != nil:
		return fieldValue(pod, hostIP, podIP, e.ValueFrom.FieldRef.FieldPath)
	}
	return "", fmt.Errorf("only value and fieldRef are supported")
}

func lookupIn(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// commandLine returns the host binary and arguments of a container with
// Kubernetes semantics: command replaces the image's entrypoint (here the
// binary named after the image), args replace its default arguments (here
// none). Arguments are expanded with vars, then rewritten for the host.
func commandLine(binDir string, c *corev1.Container, vars map[string]string, rewrite func(string) string) []string {
	var argv []string
	if len(c.Command) > 0 {
		argv = append(argv, filepath.Join(binDir, filepath.Base(c.Command[0])))
		argv = append(argv, c.Command[1:]...)
	} else {
		argv = append(argv, filepath.Join(binDir, imageBinary(c.Image)))
	}
	argv = append(argv, c.Args...)
	for i := 1; i < len(argv); i++ {
		argv[i] = rewrite(expand(argv[i], lookupIn(vars)))
	}
	return argv
}
