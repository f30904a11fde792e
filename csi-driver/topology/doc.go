// Package topology feeds the driver's NodeGetInfo with the zone and region
// labels of the Kubernetes Node it runs on, so that StorageClasses can use
// allowedTopologies on zones as well as on nodes.
package topology
