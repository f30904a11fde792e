// Package csiconn connects Plinth's controllers to a CSI driver over its
// unix socket, exactly as the upstream sidecars do, and classifies the
// driver's errors the way the sidecar contract requires: an error is final
// (the operation did not happen and will not by retrying the same request)
// or in progress (the driver may still be working: retry, and never forget
// what may exist).
package csiconn
