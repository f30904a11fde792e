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
	"fmt"
	"sync"
)

// job is a data copy that outlives the call that started it. Copies without
// reflink take seconds per GiB, longer than a CO's RPC timeout; the CO then
// retries the same call, which must continue where the first left off rather
// than restart a copy that would time out again.
type job struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// jobs tracks the running copies by the ID of the object they create.
type jobs struct {
	mu      sync.Mutex
	running map[string]*job
}

// run starts work for key, or joins the copy already running for it, and
// waits until it ends or ctx is done. The work carries on after ctx ends; a
// later call for the same key collects its result.
func (j *jobs) run(ctx context.Context, key string, work func(context.Context) error) error {
	jb := j.start(key, work)
	select {
	case <-jb.done:
		j.forget(key, jb)
		return jb.err
	case <-ctx.Done():
		return fmt.Errorf("failed to wait for the copy of %s, which continues: %w", key, ctx.Err())
	}
}

func (j *jobs) start(key string, work func(context.Context) error) *job {
	j.mu.Lock()
	defer j.mu.Unlock()
	if jb, ok := j.running[key]; ok {
		return jb
	}
	ctx, cancel := context.WithCancel(context.Background())
	jb := &job{cancel: cancel, done: make(chan struct{})}
	if j.running == nil {
		j.running = map[string]*job{}
	}
	j.running[key] = jb
	go func() {
		defer close(jb.done)
		defer cancel()
		jb.err = work(ctx)
	}()
	return jb
}

func (j *jobs) forget(key string, jb *job) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.running[key] == jb {
		delete(j.running, key)
	}
}

// stop cancels the copy for key, if any, and waits for it to end, so that a
// deletion does not race a copy that would recreate the files.
func (j *jobs) stop(key string) {
	j.mu.Lock()
	jb, ok := j.running[key]
	j.mu.Unlock()
	if !ok {
		return
	}
	jb.cancel()
	<-jb.done
	j.forget(key, jb)
}
