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

package csiconn

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// IsFinal reports whether err says the driver did not do, and will not do,
// the operation: the caller may forget it. Timeouts, cancellations,
// unavailability, Aborted (another operation on the same object runs) and
// anything that is not a gRPC status are not final: the operation may still
// be running or may have completed.
func IsFinal(err error) bool {
	if err == nil {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	st, ok := status.FromError(err)
	if !ok {
		return false
	}
	switch st.Code() {
	case codes.Canceled, codes.DeadlineExceeded, codes.Unavailable, codes.Aborted, codes.Unknown, codes.Internal:
		return false
	default:
		return true
	}
}

// IsResourceExhausted reports whether the driver had no room for the
// request where it was asked to place it.
func IsResourceExhausted(err error) bool {
	return status.Code(err) == codes.ResourceExhausted
}

// IsInfeasible reports whether err says the request itself cannot succeed
// as it stands, whatever the state of the driver: InvalidArgument,
// OutOfRange (a size beyond what the driver offers) or NotFound (the
// volume is gone). The kubelet and the upstream external-resizer treat
// exactly these as infeasible expansions; every other error, such as
// ResourceExhausted while the pool is full, may pass once the state
// changes, and is retried.
func IsInfeasible(err error) bool {
	switch status.Code(err) {
	case codes.InvalidArgument, codes.OutOfRange, codes.NotFound:
		return true
	default:
		return false
	}
}
