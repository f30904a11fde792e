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

// lock takes the lock of one volume or snapshot, or returns the Aborted
// status of a call that finds another operation on it in progress.
func (d *Driver) lock(id string) (func(), error) {
	unlock, ok := d.locks.tryLock(id)
	if !ok {
		return nil, busy(id)
	}
	return unlock, nil
}

// busy is the answer to a call for an object another call is working on.
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
