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
	"sync"
)

// keyLocks serializes operations per volume or snapshot ID.
//
// An operation's own ID is only tried: a second call for the same object is
// a retry of one still running, and gets codes.Aborted (CSI callers retry
// it), which keeps a stuck operation from piling up goroutines behind it.
// The IDs an operation reads from (the source volume of a snapshot, the
// source of a restore or clone) are waited for, until the call's context
// ends: independent operations that share a source, such as a burst of
// snapshots of one volume, queue instead of failing and backing off.
type keyLocks struct {
	mu sync.Mutex
	// held maps a taken key to a channel closed when it is released.
	held map[string]chan struct{}
}

func newKeyLocks() *keyLocks {
	return &keyLocks{held: map[string]chan struct{}{}}
}

// tryLock takes all keys or none. It returns the release function, or false
// when one of the keys is held.
func (l *keyLocks) tryLock(keys ...string) (func(), bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.firstHeld(keys) != nil {
		return nil, false
	}
	l.take(keys)
	return func() { l.release(keys) }, true
}

// acquire tries own and waits for sources. It returns false, holding
// nothing, when own is held or ctx ends first.
func (l *keyLocks) acquire(ctx context.Context, own string, sources ...string) (func(), bool) {
	releaseOwn, ok := l.tryLock(own)
	if !ok {
		return nil, false
	}
	for {
		l.mu.Lock()
		busy := l.firstHeld(sources)
		if busy == nil {
			l.take(sources)
			l.mu.Unlock()
			return func() { l.release(sources); releaseOwn() }, true
		}
		l.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			releaseOwn()
			return nil, false
		}
	}
}

// firstHeld returns the release channel of a held key, or nil. l.mu is held.
func (l *keyLocks) firstHeld(keys []string) chan struct{} {
	for _, k := range keys {
		if ch, ok := l.held[k]; ok {
			return ch
		}
	}
	return nil
}

// take marks keys held. l.mu is held.
func (l *keyLocks) take(keys []string) {
	for _, k := range keys {
		l.held[k] = make(chan struct{})
	}
}

func (l *keyLocks) release(keys []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if ch, ok := l.held[k]; ok {
			close(ch)
			delete(l.held, k)
		}
	}
}
