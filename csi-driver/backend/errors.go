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

package backend

import "errors"

// Sentinel errors a backend wraps so that the CSI services can return the
// status code the CSI spec prescribes. The comment on each names that code.
var (
	// ErrInvalidID marks an ID that does not have the driver's format (InvalidArgument).
	ErrInvalidID = errors.New("invalid ID")
	// ErrInvalidArgument marks a request the backend cannot honour as given, such as an unknown parameter (InvalidArgument).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrNotFound marks a volume, snapshot or source that does not exist (NotFound).
	ErrNotFound = errors.New("not found")
	// ErrExists marks an ID that exists with incompatible properties (AlreadyExists).
	ErrExists = errors.New("already exists with different properties")
	// ErrNoSpace marks a request that does not fit into the remaining capacity (ResourceExhausted).
	ErrNoSpace = errors.New("not enough space")
	// ErrOutOfRange marks a size the backend cannot provide, such as a volume smaller than its source (OutOfRange).
	ErrOutOfRange = errors.New("size out of range")
	// ErrHasSnapshots marks a volume that cannot be deleted while it has snapshots (FailedPrecondition).
	ErrHasSnapshots = errors.New("volume has snapshots")
	// ErrInUse marks a volume that cannot be changed while it is attached or mounted (FailedPrecondition).
	ErrInUse = errors.New("in use")
	// ErrNotAttached marks a volume that has no device on this node (NotFound on the node side).
	ErrNotAttached = errors.New("not attached")
)
