// Package driver implements the CSI Identity, Controller and Node services on
// top of a backend.Backend, and the gRPC server that exposes them on a unix
// socket.
//
// The services own everything that is the same for every storage system:
// argument checks with messages naming the field at fault, the mapping of
// backend errors to the gRPC codes the CSI spec prescribes, idempotency by
// name (volume and snapshot IDs are derived from CSI names), per-object
// locking (a second concurrent call for the same volume gets codes.Aborted and
// is retried by the caller), topology, formatting and mounting with
// k8s.io/mount-utils (SafeFormatAndMount never formats a device that holds
// data), and logging through a gRPC interceptor that strips secrets.
//
// IDs that arrive over gRPC are parsed before anything else happens. A
// malformed ID names nothing the driver could have created, so DeleteVolume
// and DeleteSnapshot succeed without touching anything, list filters match
// nothing, content sources are NotFound, and every other call returns
// InvalidArgument.
package driver
