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
