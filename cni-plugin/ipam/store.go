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
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plinth-dev/plinth/internal/atomicfile"
)

const (
	lockFile   = "lock"
	lastPrefix = "last-"
	sep        = "_"
	idLen      = 32
)

// Allocation is one attachment's record in the store.
type Allocation struct {
	// ID is the attachment's Key.ID().
	ID string
	// IPs holds one address per IP family of the configured ranges.
	IPs []netip.Addr
}

// Store is the on-disk IPAM store of one network on one node. It is safe for
// concurrent use by goroutines and by processes: every method takes the
// store's file lock.
type Store struct {
	dir string
}

// Open creates (if needed) and opens the store of network under dataDir.
func Open(dataDir, network string) (*Store, error) {
	dir := filepath.Join(dataDir, network)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create IPAM store %s: %w", dir, err)
	}
	return &Store{dir: dir}, nil
}

// Allocate returns the addresses of key, reserving one address from each
// range for pod if key has none yet. Calling it again for the same key (a
// retried ADD) returns the same addresses.
func (s *Store) Allocate(key Key, ranges []netip.Prefix, pod Pod) (Allocation, error) {
	var alloc Allocation
	err := s.withLock(func() error {
		existing, err := s.scan()
		if err != nil {
			return err
		}
		if a, ok := existing[key.ID()]; ok {
			alloc = a
			return nil
		}
		alloc, err = s.reserve(key, ranges, pod, existing)
		return err
	})
	return alloc, err
}

// Get returns the allocation of key, if any.
func (s *Store) Get(key Key) (Allocation, bool, error) {
	var (
		alloc Allocation
		found bool
	)
	err := s.withLock(func() error {
		existing, err := s.scan()
		alloc, found = existing[key.ID()]
		return err
	})
	return alloc, found, err
}

// Release frees the addresses of key. Releasing an unknown key succeeds, so
// DEL can be repeated.
func (s *Store) Release(key Key) error {
	return s.withLock(func() error {
		existing, err := s.scan()
		if err != nil {
			return err
		}
		if a, ok := existing[key.ID()]; ok {
			return s.remove(a)
		}
		return nil
	})
}

// List returns every allocation in the store.
func (s *Store) List() ([]Allocation, error) {
	var out []Allocation
	err := s.Inspect(func(allocs []Allocation) error {
		out = allocs
		return nil
	})
	return out, err
}

// Inspect runs fn with every allocation while holding the store's lock, so
// that no allocation is added or released until fn returns.
func (s *Store) Inspect(fn func([]Allocation) error) error {
	return s.withLock(func() error {
		existing, err := s.scan()
		if err != nil {
			return err
		}
		allocs := make([]Allocation, 0, len(existing))
		for _, a := range existing {
			allocs = append(allocs, a)
		}
		return fn(allocs)
	})
}

// GC releases every allocation whose key is not in valid, after cleanup
// succeeded for it (the plugin removes the attachment's interfaces there, so
// that no route outlives its address). It keeps going past errors, returns
// them joined, and returns what it released.
func (s *Store) GC(valid []Key, cleanup func(Allocation) error) ([]Allocation, error) {
	keep := make(map[string]bool, len(valid))
	for _, k := range valid {
		keep[k.ID()] = true
	}
	var released []Allocation
	err := s.withLock(func() error {
		existing, err := s.scan()
		if err != nil {
			return err
		}
		var errs []error
		for id, a := range existing {
			if keep[id] {
				continue
			}
			if err := cleanup(a); err != nil {
				errs = append(errs, fmt.Errorf("failed to clean up %s: %w", id, err))
				continue
			}
			if err := s.remove(a); err != nil {
				errs = append(errs, err)
				continue
			}
			released = append(released, a)
		}
		return errors.Join(errs...)
	})
	return released, err
}

// withLock runs fn holding the store's exclusive file lock.
func (s *Store) withLock(fn func() error) error {
	f, err := os.OpenFile(filepath.Join(s.dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("failed to open IPAM lock: %w", err)
	}
	defer f.Close()
	if err := flock(f, unix.LOCK_EX); err != nil {
		return fmt.Errorf("failed to lock IPAM store: %w", err)
	}
	defer flock(f, unix.LOCK_UN) //nolint:errcheck // closing the file drops the lock anyway
	return fn()
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("failed to flock: %w", err)
		}
	}
}

// scan lists the store's allocations by file name and removes temporary
// files left by a writer that died: under the lock nobody else is writing.
func (s *Store) scan() (map[string]Allocation, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("failed to list IPAM store: %w", err)
	}
	out := make(map[string]Allocation, len(entries))
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, atomicfile.TempPrefix) {
			if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !os.IsNotExist(err) {
				return nil, fmt.Errorf("failed to remove stale %s: %w", name, err)
			}
			continue
		}
		if a, ok := parseName(name); ok {
			out[a.ID] = a
		}
	}
	return out, nil
}

// parseName decodes "<id>_<ip>[_<ip>]"; other names are not allocations.
func parseName(name string) (Allocation, bool) {
	parts := strings.Split(name, sep)
	if len(parts) < 2 || len(parts[0]) != idLen {
		return Allocation{}, false
	}
	a := Allocation{ID: parts[0]}
	for _, p := range parts[1:] {
		addr, err := netip.ParseAddr(p)
		if err != nil {
			return Allocation{}, false
		}
		a.IPs = append(a.IPs, addr)
	}
	return a, true
}

func (a Allocation) fileName() string {
	parts := make([]string, 0, 1+len(a.IPs))
	parts = append(parts, a.ID)
	for _, ip := range a.IPs {
		parts = append(parts, ip.String())
	}
	return strings.Join(parts, sep)
}

// reserve picks one free address per range and records the allocation.
func (s *Store) reserve(key Key, ranges []netip.Prefix, pod Pod, existing map[string]Allocation) (Allocation, error) {
	used := make(map[netip.Addr]bool, len(existing))
	for _, a := range existing {
		for _, ip := range a.IPs {
			used[ip] = true
		}
	}
	alloc := Allocation{ID: key.ID()}
	for _, r := range ranges {
		addr, err := nextFree(r, s.last(r), used)
		if err != nil {
			return Allocation{}, err
		}
		alloc.IPs = append(alloc.IPs, addr)
	}
	rec := record{Key: key, IPs: alloc.IPs, Pod: pod, Created: time.Now().UTC()}
	if err := s.write(alloc, rec); err != nil {
		return Allocation{}, err
	}
	for _, ip := range alloc.IPs {
		s.setLast(ip)
	}
	return alloc, nil
}

// record is the content of an allocation's file. Records written before
// Pod and Created were kept lack them.
type record struct {
	Key
	IPs []netip.Addr `json:"ips"`
	Pod
	Created time.Time `json:"created,omitzero"`
}

// write records the allocation atomically, so that after a crash it is
// either fully recorded or absent.
func (s *Store) write(alloc Allocation, rec record) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("failed to encode allocation: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(s.dir, alloc.fileName()), data, 0o600); err != nil {
		return fmt.Errorf("failed to record allocation: %w", err)
	}
	return nil
}

func (s *Store) remove(a Allocation) error {
	if err := atomicfile.Remove(filepath.Join(s.dir, a.fileName())); err != nil {
		return fmt.Errorf("failed to release %s: %w", a.ID, err)
	}
	return nil
}

// last returns the previous allocation from r, a hint that need not survive
// a crash.
func (s *Store) last(r netip.Prefix) netip.Addr {
	data, err := os.ReadFile(filepath.Join(s.dir, lastPrefix+family(r.Addr())))
	if err != nil {
		return netip.Addr{}
	}
	addr, err := netip.ParseAddr(strings.TrimSpace(string(data)))
	if err != nil {
		return netip.Addr{}
	}
	return addr
}

// setLast records the hint; losing it only changes which free address is
// picked next, so errors are ignored.
func (s *Store) setLast(ip netip.Addr) {
	_ = os.WriteFile(filepath.Join(s.dir, lastPrefix+family(ip)), []byte(ip.String()), 0o600)
}

func family(ip netip.Addr) string {
	if ip.Is4() {
		return "v4"
	}
	return "v6"
}
