package driver

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-dev/plinth/csi-driver/backend"
)

// backendCodes maps the backend's sentinel errors to CSI status codes.
var backendCodes = []struct {
	err  error
	code codes.Code
}{
	{backend.ErrInvalidID, codes.InvalidArgument},
	{backend.ErrInvalidArgument, codes.InvalidArgument},
	{backend.ErrNotFound, codes.NotFound},
	{backend.ErrExists, codes.AlreadyExists},
	{backend.ErrNoSpace, codes.ResourceExhausted},
	{backend.ErrOutOfRange, codes.OutOfRange},
	{backend.ErrHasSnapshots, codes.FailedPrecondition},
	{backend.ErrInUse, codes.FailedPrecondition},
	{backend.ErrNotAttached, codes.FailedPrecondition},
	{context.DeadlineExceeded, codes.DeadlineExceeded},
	{context.Canceled, codes.Canceled},
}

// toStatus turns a backend error into a gRPC status error; errors the
// backend did not classify are Internal.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	for _, m := range backendCodes {
		if errors.Is(err, m.err) {
			return status.Error(m.code, err.Error())
		}
	}
	return status.Error(codes.Internal, err.Error())
}

// busy is the answer to a call for an object another call is working on.
// lock takes the lock of one volume or snapshot, or returns the Aborted
// status of a call that finds another operation on it in progress.
func (d *Driver) lock(id string) (func(), error) {
	unlock, ok := d.locks.tryLock(id)
	if !ok {
		return nil, busy(id)
	}
	return unlock, nil
}

func busy(id string) error {
	return status.Errorf(codes.Aborted, "an operation on %s is already in progress", id)
}

// required returns InvalidArgument naming field when value is empty.
func required(field, value string) error {
	if value == "" {
		return status.Errorf(codes.InvalidArgument, "%s is required", field)
	}
	return nil
}

// parseVolumeID validates a volume ID given in field.
func parseVolumeID(field, id string) (backend.VolumeID, error) {
	if err := required(field, id); err != nil {
		return "", err
	}
	vid, err := backend.ParseVolumeID(id)
	if err != nil {
		return "", status.Errorf(codes.InvalidArgument, "%s: %v", field, err)
	}
	return vid, nil
}

// parseSnapshotID validates a snapshot ID given in field.
func parseSnapshotID(field, id string) (backend.SnapshotID, error) {
	if err := required(field, id); err != nil {
		return "", err
	}
	sid, err := backend.ParseSnapshotID(id)
	if err != nil {
		return "", status.Errorf(codes.InvalidArgument, "%s: %v", field, err)
	}
	return sid, nil
}
