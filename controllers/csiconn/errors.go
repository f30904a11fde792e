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
