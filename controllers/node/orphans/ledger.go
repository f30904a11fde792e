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

package orphans

import "sync"

// Ledger is the set of volumes the provisioner gave up deleting: their
// claims are gone and no PV ever recorded them, so they are provably
// orphans. It lives in memory: after a restart such volumes are only
// reported.
type Ledger struct {
	mu  sync.Mutex
	ids map[string]bool
}

// Add records a volume the provisioner abandoned.
func (l *Ledger) Add(volumeID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ids == nil {
		l.ids = map[string]bool{}
	}
	l.ids[volumeID] = true
}

// Has reports whether the volume was abandoned.
func (l *Ledger) Has(volumeID string) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ids[volumeID]
}

// Remove forgets a volume, once deleted.
func (l *Ledger) Remove(volumeID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.ids, volumeID)
}
