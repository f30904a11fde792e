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
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestIsFinalFollowsTheSidecarContract(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"success", nil, true},
		{"invalid argument", status.Error(codes.InvalidArgument, "x"), true},
		{"resource exhausted", status.Error(codes.ResourceExhausted, "x"), true},
		{"already exists", status.Error(codes.AlreadyExists, "x"), true},
		{"not found", status.Error(codes.NotFound, "x"), true},
		{"deadline exceeded", status.Error(codes.DeadlineExceeded, "x"), false},
		{"unavailable", status.Error(codes.Unavailable, "x"), false},
		{"aborted", status.Error(codes.Aborted, "x"), false},
		{"canceled", status.Error(codes.Canceled, "x"), false},
		{"internal", status.Error(codes.Internal, "x"), false},
		{"context deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), false},
		{"not a gRPC status", errors.New("connection reset"), false},
	}
	for _, tt := range tests {
		if got := IsFinal(tt.err); got != tt.want {
			t.Errorf("%s: IsFinal = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Only a request that cannot succeed as it stands is infeasible: a full
// pool (ResourceExhausted) may have room later.
func TestIsInfeasibleFollowsTheResizerContract(t *testing.T) {
	for code, want := range map[codes.Code]bool{
		codes.InvalidArgument: true, codes.OutOfRange: true, codes.NotFound: true,
		codes.ResourceExhausted: false, codes.FailedPrecondition: false, codes.Internal: false,
		codes.Unavailable: false, codes.DeadlineExceeded: false, codes.Aborted: false,
	} {
		if got := IsInfeasible(status.Error(code, "x")); got != want {
			t.Errorf("%s: IsInfeasible = %v, want %v", code, got, want)
		}
	}
	if IsInfeasible(nil) || IsInfeasible(errors.New("connection reset")) {
		t.Error("nil or a plain error is infeasible")
	}
}
