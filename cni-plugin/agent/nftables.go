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
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"sync"

	"sigs.k8s.io/knftables"
)

// The agent's nftables objects. The table is the agent's alone, and other
// parts of the agent may add chains and sets of their own to it: an update
// touches only the objects named here, and only Cleanup removes the table.
const (
	nftTable        = "plinth"
	masqueradeChain = "postrouting"
	clusterSetV4    = "cluster4"
	clusterSetV6    = "cluster6"
)

// masqueradeRules masquerade pod traffic from a cluster CIDR to anything
// outside the cluster CIDRs of its family. The rules never change with the
// cluster: the sets do, in place, so rule handles and counters survive.
var masqueradeRules = []*knftables.Rule{
	identified(masqueradeChain, "masquerade IPv4 traffic leaving the cluster",
		"ip saddr @"+clusterSetV4+" ip daddr != @"+clusterSetV4+" counter masquerade"),
	identified(masqueradeChain, "masquerade IPv6 traffic leaving the cluster",
		"ip6 saddr @"+clusterSetV6+" ip6 daddr != @"+clusterSetV6+" counter masquerade"),
}

// identified returns a rule whose comment names it and carries a digest of
// its text, so that a chain whose rules differ from the agent's, such as
// one written by an older version, is recognised and rewritten.
func identified(chain, name, rule string) *knftables.Rule {
	sum := sha256.Sum256([]byte(rule))
	return &knftables.Rule{Chain: chain, Rule: rule, Comment: knftables.PtrTo(name + " " + hex.EncodeToString(sum[:4]))}
}

// nftables opens the agent's table on first use: knftables runs the nft
// binary, which a node that never masquerades does not need.
type nftables struct {
	once sync.Once
	nft  knftables.Interface
	err  error
}

func (n *nftables) get() (knftables.Interface, error) {
	n.once.Do(func() {
		n.nft, n.err = knftables.New(knftables.InetFamily, nftTable)
		if n.err != nil {
			n.err = fmt.Errorf("failed to open nftables: %w", n.err)
		}
	})
	return n.nft, n.err
}

// syncMasquerade programs the masquerade of pod traffic leaving the
// cluster CIDRs in one transaction that creates the table, chain and sets
// if they are missing, replaces the sets' elements, and rewrites the chain
// only when its rules are not the agent's.
func (a *Agent) syncMasquerade(ctx context.Context, cidrs []netip.Prefix) error {
	if !a.cfg.Masquerade {
		return a.deleteMasquerade(ctx)
	}
	nft, err := a.nft.get()
	if err != nil {
		return err
	}
	current, err := nft.ListRules(ctx, masqueradeChain)
	if err != nil && !knftables.IsNotFound(err) {
		return fmt.Errorf("failed to list the masquerade rules: %w", err)
	}
	tx := nft.NewTransaction()
	tx.Add(&knftables.Table{})
	addClusterSets(tx, cidrs)
	tx.Add(&knftables.Chain{
		Name: masqueradeChain, Type: knftables.PtrTo(knftables.NATType),
		Hook: knftables.PtrTo(knftables.PostroutingHook), Priority: knftables.PtrTo(knftables.SNATPriority),
	})
	if !sameRules(current, masqueradeRules) {
		tx.Flush(&knftables.Chain{Name: masqueradeChain})
		for _, r := range masqueradeRules {
			tx.Add(r)
		}
	}
	if err := nft.Run(ctx, tx); err != nil {
		return fmt.Errorf("failed to program the masquerade: %w", err)
	}
	return nil
}

// addClusterSets makes the cluster sets hold exactly cidrs; the flush and
// the new elements commit together, so no packet sees the sets empty.
func addClusterSets(tx *knftables.Transaction, cidrs []netip.Prefix) {
	for _, set := range []struct {
		name, typ string
		v4        bool
	}{{clusterSetV4, "ipv4_addr", true}, {clusterSetV6, "ipv6_addr", false}} {
		tx.Add(&knftables.Set{Name: set.name, Type: set.typ, Flags: []knftables.SetFlag{knftables.IntervalFlag}})
		tx.Flush(&knftables.Set{Name: set.name})
		for _, p := range cidrs {
			if p.Addr().Is4() == set.v4 {
				tx.Add(&knftables.Element{Set: set.name, Key: []string{p.String()}})
			}
		}
	}
}

func sameRules(current, want []*knftables.Rule) bool {
	return slices.EqualFunc(current, want, func(c, w *knftables.Rule) bool {
		return c.Comment != nil && *c.Comment == *w.Comment
	})
}

// deleteMasquerade removes the masquerade chain and the cluster sets, and
// leaves the rest of the table alone.
func (a *Agent) deleteMasquerade(ctx context.Context) error {
	nft, err := a.nft.get()
	if errors.Is(err, exec.ErrNotFound) {
		return nil // without nft, the agent cannot have made any
	}
	if err != nil {
		return err
	}
	chains, err := nft.List(ctx, "chains")
	if err != nil {
		return fmt.Errorf("failed to list nftables chains: %w", err)
	}
	sets, err := nft.List(ctx, "sets")
	if err != nil {
		return fmt.Errorf("failed to list nftables sets: %w", err)
	}
	tx := nft.NewTransaction()
	if slices.Contains(chains, masqueradeChain) { // first: its rules use the sets
		tx.Delete(&knftables.Chain{Name: masqueradeChain})
	}
	for _, set := range []string{clusterSetV4, clusterSetV6} {
		if slices.Contains(sets, set) {
			tx.Delete(&knftables.Set{Name: set})
		}
	}
	if tx.NumOperations() == 0 {
		return nil
	}
	if err := nft.Run(ctx, tx); err != nil {
		return fmt.Errorf("failed to remove the masquerade: %w", err)
	}
	return nil
}

// deleteTable removes the agent's table with everything in it.
func (a *Agent) deleteTable(ctx context.Context) error {
	nft, err := a.nft.get()
	if errors.Is(err, exec.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	tx := nft.NewTransaction()
	tx.Delete(&knftables.Table{})
	if err := nft.Run(ctx, tx); err != nil && !knftables.IsNotFound(err) {
		return fmt.Errorf("failed to delete nftables table %s: %w", nftTable, err)
	}
	return nil
}
