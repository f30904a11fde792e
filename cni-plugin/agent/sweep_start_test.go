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

package agent

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// unstartedCache reads like a cache that the manager starts at the same
// time as the sweeper: every read fails until the test syncs it.
type unstartedCache struct {
	client.Reader
	// waiting is closed once the sweeper waits for the sync.
	waiting chan struct{}
	// readEarly receives every read made before the sync.
	readEarly chan client.ObjectKey
	synced    chan struct{}
}

func (c *unstartedCache) WaitForCacheSync(ctx context.Context) bool {
	close(c.waiting)
	select {
	case <-c.synced:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c *unstartedCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	select {
	case <-c.synced:
		return c.Reader.Get(ctx, key, obj, opts...)
	default:
		c.readEarly <- key
		return &cache.ErrCacheNotStarted{}
	}
}

// The sweeper started by the manager reads no pod before its cache has
// synced, and sweeps as soon as it has: a sweep that raced the cache
// failed, logged an error at every start of plinth-node and waited a
// whole Interval to try again.
func TestSweeperWaitsForItsPodCacheBeforeTheFirstSweep(t *testing.T) {
	f := newSweepFixture(t, sweepCases()[:1], interceptor.Funcs{}) // a deleted pod's reservation
	pods := &unstartedCache{Reader: f.cache, waiting: make(chan struct{}), readEarly: make(chan client.ObjectKey, 10), synced: make(chan struct{})}
	var cleaned []string
	s := f.sweeper(time.Nanosecond, &cleaned)
	s.Pods, s.Interval = pods, time.Hour
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- s.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start returned %v", err)
		}
	}()

	select {
	case key := <-pods.readEarly:
		t.Fatalf("the sweeper read pod %s before its cache synced", key)
	case <-pods.waiting:
	case <-time.After(wait.ForeverTestTimeout):
		t.Fatal("the sweeper neither waited for its cache nor swept")
	}
	close(pods.synced)
	err := wait.PollUntilContextTimeout(t.Context(), 10*time.Millisecond, wait.ForeverTestTimeout, true, func(context.Context) (bool, error) {
		allocs, err := f.store.List()
		return len(allocs) == 0, err
	})
	if err != nil {
		t.Fatalf("the first sweep after the sync released nothing: %v", err)
	}
}
