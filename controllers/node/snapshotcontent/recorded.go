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

package snapshotcontent

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// recordedTTL bounds how long an outcome's write is waited for in the
// cache: past it, a content that still looks uncut is cut (idempotently)
// again rather than left alone.
const recordedTTL = 30 * time.Second

// recordedLog remembers, for a short while, the resourceVersion of each
// content whose outcome this node has just written. The event of the
// being-created annotation's own write brings the content back while the
// cache still shows it uncut; without the log that stale copy would call
// CreateSnapshot again and write the same status and annotation a second
// time.
type recordedLog struct {
	mu      sync.Mutex
	entries map[types.UID]recordedAt
}

type recordedAt struct {
	resourceVersion string
	at              time.Time
}

// record notes that the outcome of content uid was written, leaving it at
// resourceVersion, and forgets the entries older than recordedTTL.
func (l *recordedLog) record(uid types.UID, resourceVersion string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries == nil {
		l.entries = map[types.UID]recordedAt{}
	}
	for k, e := range l.entries {
		if now.Sub(e.at) > recordedTTL {
			delete(l.entries, k)
		}
	}
	l.entries[uid] = recordedAt{resourceVersion: resourceVersion, at: now}
}

// behind reports whether a copy of content uid at resourceVersion predates
// an outcome this node wrote within recordedTTL.
func (l *recordedLog) behind(uid types.UID, resourceVersion string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[uid]
	if !ok || now.Sub(e.at) > recordedTTL {
		return false
	}
	return e.resourceVersion != resourceVersion
}

// forget drops the entry of content uid: its outcome is in the cache.
func (l *recordedLog) forget(uid types.UID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, uid)
}
