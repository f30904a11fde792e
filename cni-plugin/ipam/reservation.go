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

package ipam

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Pod identifies the Kubernetes pod an attachment was made for, as the
// runtime passes it in CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME,
// K8S_POD_UID). The zero value means the pod is unknown.
type Pod struct {
	// Namespace and Name name the pod.
	Namespace string `json:"podNamespace,omitempty"`
	Name      string `json:"podName,omitempty"`
	// UID tells the pod apart from a later one of the same name.
	UID string `json:"podUID,omitempty"`
}

// Known reports whether the pod is fully identified, UID included.
func (p Pod) Known() bool {
	return p.Namespace != "" && p.Name != "" && p.UID != ""
}

// Reservation is an allocation together with what its record says about it.
type Reservation struct {
	Allocation
	// Key is the attachment the addresses are reserved for.
	Key Key
	// Pod is the pod of the attachment; zero in records written before
	// pods were recorded, or when the record cannot be read.
	Pod Pod
	// Created is when the addresses were reserved; zero when unknown.
	Created time.Time
}

// Reservations returns every allocation with its record. A record that
// cannot be read comes back with an unknown pod and creation time rather
// than as an error, so one damaged file does not hide the others.
func (s *Store) Reservations() ([]Reservation, error) {
	var out []Reservation
	err := s.withLock(func() error {
		existing, err := s.scan()
		if err != nil {
			return err
		}
		out = make([]Reservation, 0, len(existing))
		for _, a := range existing {
			out = append(out, s.reservation(a))
		}
		return nil
	})
	return out, err
}

// ReleaseUnchanged releases each of rs that the store still holds unchanged
// (same attachment, addresses and reservation time), after cleanup
// succeeded for it. Callers decide outside the lock which reservations are
// stale; the check under the lock keeps a reservation made meanwhile safe.
// It keeps going past errors, returns them joined, and returns what it
// released.
func (s *Store) ReleaseUnchanged(rs []Reservation, cleanup func(Allocation) error) ([]Reservation, error) {
	var released []Reservation
	err := s.withLock(func() error {
		existing, err := s.scan()
		if err != nil {
			return err
		}
		var errs []error
		for _, r := range rs {
			if !s.unchanged(existing, r) {
				continue
			}
			if err := cleanup(r.Allocation); err != nil {
				errs = append(errs, fmt.Errorf("failed to clean up %s: %w", r.ID, err))
				continue
			}
			if err := s.remove(r.Allocation); err != nil {
				errs = append(errs, err)
				continue
			}
			released = append(released, r)
		}
		return errors.Join(errs...)
	})
	return released, err
}

// unchanged reports whether the store holds r as it was read.
func (s *Store) unchanged(existing map[string]Allocation, r Reservation) bool {
	a, ok := existing[r.ID]
	if !ok || a.fileName() != r.fileName() {
		return false
	}
	now := s.reservation(a)
	return now.Created.Equal(r.Created) && now.Pod == r.Pod
}

// reservation reads the record of a.
func (s *Store) reservation(a Allocation) Reservation {
	r := Reservation{Allocation: a}
	data, err := os.ReadFile(filepath.Join(s.dir, a.fileName()))
	if err != nil {
		return r
	}
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil {
		return r
	}
	r.Key, r.Pod, r.Created = rec.Key, rec.Pod, rec.Created
	return r
}
