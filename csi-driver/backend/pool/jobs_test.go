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

package pool

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestARetriedCallJoinsTheCopyItsTimedOutPredecessorStarted(t *testing.T) {
	var j jobs
	release := make(chan struct{})
	var runs atomic.Int32
	work := func(context.Context) error {
		runs.Add(1)
		<-release
		return nil
	}
	timedOut, cancel := context.WithCancel(context.Background())
	cancel()
	if err := j.run(timedOut, "vol-a", work); !errors.Is(err, context.Canceled) {
		t.Fatalf("first call: %v, want context.Canceled", err)
	}
	close(release)
	if err := j.run(context.Background(), "vol-a", work); err != nil {
		t.Fatalf("retried call: %v", err)
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("the copy ran %d times, want once", n)
	}
	if err := j.run(context.Background(), "vol-a", work); err != nil || runs.Load() != 2 {
		t.Errorf("a call after the collected job must start a new copy: err %v, runs %d", err, runs.Load())
	}
}

func TestStopCancelsARunningCopy(t *testing.T) {
	var j jobs
	started := make(chan struct{})
	go func() {
		_ = j.run(context.Background(), "snap-a", func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	<-started
	j.stop("snap-a") // returns only once the copy has ended
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.running) != 0 {
		t.Errorf("jobs still tracked after stop: %v", j.running)
	}
}
