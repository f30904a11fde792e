# The init of one node: runs as PID 1 of the node's PID namespace, inside
# its own network, mount and UTS namespaces, makes the node's filesystem
# view, then execs the init process that reaps the node's orphans.
set -euo pipefail
hostname {{.Name}}

# sysfs of this network namespace, and the cgroup hierarchies again below it
# (mounting sysfs hides the host's cgroup mounts).
mount -t sysfs sysfs /sys
{{- if not .Unified}}
mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
{{- end}}
{{- range .Cgroups}}
mkdir -p {{.Target}}
mount -t {{.Type}} -o {{.Options}} {{.Source}} {{.Target}}
{{- end}}
{{- range .Links}}
ln -s {{.Source}} {{.Target}}
{{- end}}

# The runtime's network namespaces stay the node's own.
mount -t tmpfs -o mode=755 netns /run/netns

# The node's own state directories and files, over the machine's.
{{- range .Binds}}
mount --bind {{.Source}} {{.Target}}
{{- end}}
# The kubelet's root directory carries Bidirectional mount propagation.
mount --make-rshared /var/lib/kubelet
{{- if .PoolImage}}

# The pool's own filesystem, as an admin mounts a disk for it. Like the
# rest of this namespace it is a private mount: plinth-node must make it
# shared itself.
mkdir -p /var/lib/plinth/pool
mount -o loop {{.PoolImage}} /var/lib/plinth/pool
{{- end}}

touch {{.Ready}}
exec {{.Init}}
