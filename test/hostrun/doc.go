// Package hostrun is a minimal kubelet for the simulated nodes of package
// controlplane: it runs the pods bound to them as host processes, so that
// a Helm chart installed for real into the local control plane gets its
// pods run with the pods' own ServiceAccount identities.
//
// Start watches the pods bound to Options.Nodes (spec.nodeName, set by the
// real scheduler). For each pod whose every image starts with
// Options.ImagePrefix it runs the init containers in order to completion,
// then every container as a process of Options.BinDir: an image's
// entrypoint is the binary named after the last element of the image's
// repository, a container command is the binary named after command[0]'s
// base name; command and args follow Kubernetes semantics, $(VAR)
// references included. Each process has its own process group, dies with
// the runner (Pdeathsig) and writes to Options.LogDir/<ns>_<pod>_<container>.log.
// The runner restarts containers as the pod's restartPolicy says (back-off
// 1s doubling to 10s), writes the pod status as the kubelet does (phase,
// conditions, container states, restart counts, readiness from an httpGet
// readiness probe), and on deletion stops the processes (SIGTERM, SIGKILL
// after the grace period, at most 10s) and deletes the pod object. So
// Deployments and DaemonSets become available and Jobs complete.
//
// Identity: a pod with a service account token volume (the ServiceAccount
// admission plugin adds one unless automounting is off) gets a token of its
// ServiceAccount from the TokenRequest API, bound to the pod, and a
// kubeconfig naming the token file in KUBECONFIG. The runner asks for one
// hour; the API server may grant less (--service-account-max-token-expiration,
// which the harness does not set), so the file is rewritten after 80% of
// the lifetime granted, and client-go re-reads a tokenFile every minute. The
// processes never see the administrator's credentials, nor anything of the
// runner's environment but PATH.
//
// Filesystem: hostPath P of node N is Root/N/P (created for the
// DirectoryOrCreate and unset types), unless P lies under
// Options.SharedHostPaths; an emptyDir is a directory of the pod, removed
// with it. Since processes cannot be given a mount namespace, every
// argument and env value that names a mount path (at its start, after its
// first '=', either possibly after "unix://") is rewritten to the host
// directory, longest mount path first; the working directory is the pod's.
//
// Network: pods of several simulated nodes share the host, so each port a
// pod's containers declare is mapped to a free port on 127.0.0.1, and
// every argument and env value ending in ":<port>" is rewritten to
// "127.0.0.1:<host port>"; probes use the mapped port (Runner.HostPorts
// shows the mapping). Host-network pods report the node's InternalIP as
// their IP, other pods 127.0.0.1; Services do not route to them.
//
// Plugins: like the kubelet's plugin watcher, the runner watches each
// node's <KubeletDir>/plugins_registry for sockets, asks each plugin
// GetInfo, calls NodeGetInfo on the CSI endpoint it names (a node path),
// labels the node with the topology segments and lists the driver in the
// node's CSINode (RegisterCSIDriver), then notifies the plugin. A
// recreated socket is registered again; a removed one unregistered.
//
// Not supported: pods with volumes other than hostPath, emptyDir,
// projected, configMap and downwardAPI, with sidecar (restartPolicy)
// containers or subPathExpr are left alone, with a log line saying why.
// projected, configMap and downwardAPI volumes are not provided (their
// mount paths stay unrewritten). Environment variables other than values
// and fieldRefs to metadata.name, metadata.namespace, spec.nodeName,
// spec.serviceAccountName, status.hostIP and status.podIP, and envFrom,
// fail the pod with the reason in its status. securityContext, resources,
// readOnly mounts, lifecycle hooks, liveness, startup and non-httpGet
// readiness probes are ignored: everything runs as the runner's user
// (root) on the host. Unix socket paths are limited to 107 bytes, so Root
// must be short.
package hostrun
