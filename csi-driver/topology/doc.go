// Package topology follows the zone and region labels of the Kubernetes Node
// plinth-node runs on, so that StorageClasses can use allowedTopologies on
// zones as well as on nodes.
//
// A Node is the one source of the node's topology in plinth-node: the
// driver's NodeGetInfo, CreateVolume and GetCapacity, the provisioner and
// the capacity publisher all read it, and the kubelet registration, the
// capacity publisher and the topology notice subscribe to its changes. It
// is fed by an informer on Nodes (plinth-node shares its manager's), so a
// label added, changed or removed while plinth-node runs reaches all of
// them without a restart.
//
// Volumes keep the topology they were provisioned with: a PV's node
// affinity is immutable. A zone or region label changed or removed while
// volumes exist therefore leaves those PVs pinned to the old value; Admits
// tells which PVs a node's topology no longer satisfies.
package topology
