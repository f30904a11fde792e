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

package netpol

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/knftables"
)

// DefaultTable is the agent's nftables table (family inet), which the
// engine shares: its objects are named np-*, and the agent's Cleanup
// removes them with the table.
const DefaultTable = "plinth"

// DefaultVethPrefix starts the host end of every pod veth (the plugin's
// HostVethPrefix).
const DefaultVethPrefix = "plx"

// Engine programs compiled policy into nftables. The first Apply rebuilds
// the engine's objects in one transaction, without flushing the table, so
// the rules of an earlier run keep filtering until the new ones replace
// them; each later Apply changes only what differs from the last one.
type Engine struct {
	nft        knftables.Interface
	vethPrefix string

	mu sync.Mutex
	// applied is the kernel's state after the last successful Apply; nil
	// until then, or after a failure, which makes the next Apply rebuild.
	applied *state
}

// NewEngine returns an engine over nft, an interface to the table of
// family inet the engine's objects go into; vethPrefix defaults to
// DefaultVethPrefix.
func NewEngine(nft knftables.Interface, vethPrefix string) *Engine {
	if vethPrefix == "" {
		vethPrefix = DefaultVethPrefix
	}
	return &Engine{nft: nft, vethPrefix: vethPrefix}
}

// Open returns an engine on the named inet table of the calling thread's
// network namespace.
func Open(table, vethPrefix string) (*Engine, error) {
	nft, err := knftables.New(knftables.InetFamily, table)
	if err != nil {
		return nil, fmt.Errorf("failed to open nftables table %s: %w", table, err)
	}
	return NewEngine(nft, vethPrefix), nil
}

// Stats describes what an Apply programmed.
type Stats struct {
	// Rules is the number of rules in the engine's chains.
	Rules int
	// Elements is the number of set and map elements.
	Elements int
	// Operations is the size of the transaction.
	Operations int
}

// Apply makes the kernel hold prog, in one transaction.
func (e *Engine) Apply(ctx context.Context, prog *Program) (Stats, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	start := time.Now()
	want := render(prog, e.vethPrefix)
	tx := e.nft.NewTransaction()
	if e.applied == nil {
		if err := e.rebuild(ctx, tx, want); err != nil {
			return Stats{}, err
		}
	} else {
		diff(tx, e.applied, want)
	}
	stats := want.stats()
	stats.Operations = tx.NumOperations()
	if tx.NumOperations() > 0 {
		if err := e.nft.Run(ctx, tx); err != nil {
			e.applied = nil
			syncErrors.Inc()
			return stats, fmt.Errorf("failed to program network policy: %w", err)
		}
	}
	e.applied = want
	observe(stats, time.Since(start))
	return stats, nil
}

func (s *state) stats() Stats {
	var st Stats
	for _, rules := range s.chains {
		st.Rules += len(rules)
	}
	for _, set := range s.sets {
		st.Elements += len(set.elems)
	}
	return st
}

// rebuild makes the engine's objects in the table exactly want: every
// object is created if missing and refilled, and the engine's objects that
// want lacks are deleted. Nothing is flushed that is not refilled in the
// same transaction, so packets see the old rules or the new ones.
func (e *Engine) rebuild(ctx context.Context, tx *knftables.Transaction, want *state) error {
	existing := map[string][]string{}
	for _, kind := range []string{"chains", "sets", "maps"} {
		names, err := e.nft.List(ctx, kind)
		if err != nil && !knftables.IsNotFound(err) {
			return fmt.Errorf("failed to list nftables %s: %w", kind, err)
		}
		existing[kind] = names
	}
	tx.Add(&knftables.Table{})
	for _, name := range sortedKeys(want.sets) {
		tx.Add(want.sets[name].obj)
	}
	for _, name := range sortedKeys(want.chains) {
		tx.Add(chainObject(name))
	}
	fill := func(s *setSpec) {
		tx.Flush(s.obj)
		for _, k := range sortedKeys(s.elems) {
			tx.Add(s.elems[k])
		}
	}
	for _, name := range sortedKeys(want.sets) {
		if !want.sets[name].isMap {
			fill(want.sets[name])
		}
	}
	for _, name := range sortedKeys(want.chains) {
		if name != forwardChain {
			writeChain(tx, name, want.chains[name])
		}
	}
	for _, name := range sortedKeys(want.sets) {
		if want.sets[name].isMap {
			fill(want.sets[name])
		}
	}
	writeChain(tx, forwardChain, want.chains[forwardChain])
	for _, name := range owned(existing["chains"]) {
		if _, ok := want.chains[name]; !ok {
			tx.Delete(&knftables.Chain{Name: name})
		}
	}
	for _, kind := range []string{"sets", "maps"} {
		for _, name := range owned(existing[kind]) {
			if _, ok := want.sets[name]; !ok {
				tx.Delete(deletable(kind, name))
			}
		}
	}
	return nil
}

func deletable(kind, name string) knftables.Object {
	if kind == "maps" {
		return &knftables.Map{Name: name}
	}
	return &knftables.Set{Name: name}
}

func owned(names []string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, objectPrefix) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func chainObject(name string) *knftables.Chain {
	if name == forwardChain {
		return &knftables.Chain{
			Name: name, Type: knftables.PtrTo(knftables.FilterType),
			Hook: knftables.PtrTo(knftables.ForwardHook), Priority: knftables.PtrTo(knftables.FilterPriority),
			Comment: knftables.PtrTo("Plinth NetworkPolicy"),
		}
	}
	return &knftables.Chain{Name: name}
}

func writeChain(tx *knftables.Transaction, name string, rules []string) {
	tx.Flush(&knftables.Chain{Name: name})
	for _, r := range rules {
		tx.Add(&knftables.Rule{Chain: name, Rule: r})
	}
}

// diff changes have into want: new sets and their elements first, then
// chains (new and rewritten), then map elements, which refer to chains,
// and last the chains and sets nothing refers to any more.
func diff(tx *knftables.Transaction, have, want *state) {
	for _, name := range sortedKeys(want.sets) {
		w := want.sets[name]
		if !w.isMap {
			diffSet(tx, have.sets[name], w)
		}
	}
	for _, name := range sortedKeys(want.chains) {
		old, ok := have.chains[name]
		if !ok {
			tx.Add(chainObject(name))
		}
		if !ok || !slices.Equal(old, want.chains[name]) {
			writeChain(tx, name, want.chains[name])
		}
	}
	for _, name := range sortedKeys(want.sets) {
		if w := want.sets[name]; w.isMap {
			diffSet(tx, have.sets[name], w)
		}
	}
	for _, name := range sortedKeys(have.chains) {
		if _, ok := want.chains[name]; !ok {
			tx.Delete(&knftables.Chain{Name: name})
		}
	}
	for _, name := range sortedKeys(have.sets) {
		if _, ok := want.sets[name]; !ok {
			tx.Delete(have.sets[name].obj)
		}
	}
}

// diffSet changes the elements of have into want's, creating the set when
// have is nil; an interval set that changed is refilled whole.
func diffSet(tx *knftables.Transaction, have, want *setSpec) {
	if have == nil {
		tx.Add(want.obj)
		for _, k := range sortedKeys(want.elems) {
			tx.Add(want.elems[k])
		}
		return
	}
	if want.interval {
		if !maps.EqualFunc(have.elems, want.elems, sameElement) {
			tx.Flush(want.obj)
			for _, k := range sortedKeys(want.elems) {
				tx.Add(want.elems[k])
			}
		}
		return
	}
	for _, k := range sortedKeys(have.elems) {
		if w, ok := want.elems[k]; !ok || !sameElement(have.elems[k], w) {
			tx.Delete(have.elems[k])
		}
	}
	for _, k := range sortedKeys(want.elems) {
		if h, ok := have.elems[k]; !ok || !sameElement(h, want.elems[k]) {
			tx.Add(want.elems[k])
		}
	}
}

func sameElement(a, b *knftables.Element) bool {
	return slices.Equal(a.Value, b.Value)
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// Delete removes the engine's objects from the table, leaving the rest of
// it alone: the base chain first, then the maps that jump to the pods'
// chains, the chains, and the sets they match.
func (e *Engine) Delete(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.applied = nil
	listed := map[string][]string{}
	for _, kind := range []string{"chains", "sets", "maps"} {
		names, err := e.nft.List(ctx, kind)
		if errors.Is(err, exec.ErrNotFound) || knftables.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("failed to list nftables %s: %w", kind, err)
		}
		listed[kind] = owned(names)
	}
	tx := e.nft.NewTransaction()
	if slices.Contains(listed["chains"], forwardChain) {
		tx.Delete(&knftables.Chain{Name: forwardChain})
	}
	for _, name := range listed["maps"] {
		tx.Delete(&knftables.Map{Name: name})
	}
	for _, name := range listed["chains"] {
		if name != forwardChain {
			tx.Delete(&knftables.Chain{Name: name})
		}
	}
	for _, name := range listed["sets"] {
		tx.Delete(&knftables.Set{Name: name})
	}
	if tx.NumOperations() == 0 {
		return nil
	}
	if err := e.nft.Run(ctx, tx); err != nil {
		return fmt.Errorf("failed to remove network policy: %w", err)
	}
	return nil
}
