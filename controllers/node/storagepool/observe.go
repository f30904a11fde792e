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

package storagepool

import (
	"context"
	"fmt"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/status"

	"github.com/plinth-dev/plinth/csi-driver/backend/pool"
)

// refreshTimeout bounds the driver calls of one refresh.
const refreshTimeout = 30 * time.Second

// pageSize is the number of entries asked for per ListVolumes or
// ListSnapshots call.
const pageSize = 256

// observation is what one refresh learnt about the pool.
type observation struct {
	// notReady says why the driver's probe failed; empty when it passed.
	notReady string
	info     pool.Info
	// availableBytes is the driver's GetCapacity answer.
	availableBytes int64
	volumes        int
	snapshots      int
}

// observe probes the driver and, when the pool is healthy, gathers its
// figures. An unhealthy pool is an observation, not an error.
func (r *Reconciler) observe(ctx context.Context) (observation, error) {
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	if msg := r.probe(ctx); msg != "" {
		return observation{notReady: msg}, nil
	}
	info, err := r.PoolInfo()
	if err != nil {
		return observation{}, fmt.Errorf("failed to describe the pool: %w", err)
	}
	obs := observation{info: info}
	if obs.availableBytes, err = r.available(ctx); err != nil {
		return observation{}, err
	}
	if obs.volumes, err = r.countVolumes(ctx); err != nil {
		return observation{}, err
	}
	if obs.snapshots, err = r.countSnapshots(ctx); err != nil {
		return observation{}, err
	}
	return obs, nil
}

// probe returns why the driver is not ready, or "" when it is.
func (r *Reconciler) probe(ctx context.Context) string {
	resp, err := r.Identity.Probe(ctx, &csi.ProbeRequest{})
	if err != nil {
		return status.Convert(err).Message()
	}
	if ready := resp.GetReady(); ready != nil && !ready.GetValue() {
		return "the driver reports that it is not ready"
	}
	return ""
}

// available asks the driver what new volumes may still be given, with no
// class parameters or topology: the pool as a whole.
func (r *Reconciler) available(ctx context.Context) (int64, error) {
	resp, err := r.Controller.GetCapacity(ctx, &csi.GetCapacityRequest{})
	if err != nil {
		return 0, fmt.Errorf("failed to get capacity: %w", err)
	}
	return resp.GetAvailableCapacity(), nil
}

func (r *Reconciler) countVolumes(ctx context.Context) (int, error) {
	return countPages(func(token string) (int, string, error) {
		resp, err := r.Controller.ListVolumes(ctx, &csi.ListVolumesRequest{MaxEntries: pageSize, StartingToken: token})
		if err != nil {
			return 0, "", fmt.Errorf("failed to list volumes: %w", err)
		}
		return len(resp.GetEntries()), resp.GetNextToken(), nil
	})
}

func (r *Reconciler) countSnapshots(ctx context.Context) (int, error) {
	return countPages(func(token string) (int, string, error) {
		resp, err := r.Controller.ListSnapshots(ctx, &csi.ListSnapshotsRequest{MaxEntries: pageSize, StartingToken: token})
		if err != nil {
			return 0, "", fmt.Errorf("failed to list snapshots: %w", err)
		}
		return len(resp.GetEntries()), resp.GetNextToken(), nil
	})
}

// countPages adds up the entries of a paginated CSI list; list returns the
// number of entries of the page at token and the next page's token.
func countPages(list func(token string) (int, string, error)) (int, error) {
	total, token := 0, ""
	for {
		n, next, err := list(token)
		if err != nil {
			return 0, err
		}
		total += n
		if next == "" {
			return total, nil
		}
		token = next
	}
}
