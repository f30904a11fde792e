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

package hostport

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"

	"sigs.k8s.io/knftables"

	"github.com/plinth-dev/plinth/cni-plugin/config"
)

// The objects of the table that hostport owns; all are named hp-*.
const (
	preroutingChain  = "hp-prerouting"
	outputChain      = "hp-output"
	postroutingChain = "hp-postrouting"
	dnatChain        = "hp-dnat"
	hairpinChain     = "hp-hairpin"
)

// hairpinSource is the source a pod's connection to its own hostPort is
// rewritten to, so that the pod's reply leaves it: the link-local next hop
// every pod routes through (see the plugin), which the host's conntrack
// maps back.
var hairpinSource = map[bool]string{false: "169.254.1.1", true: "fe80::1"}

// DefaultTable is the agent's table, where the mappings go.
const DefaultTable = "plinth"

// Mapping is one entry of the CNI portMappings capability.
type Mapping = config.PortMapping

// Table programs the hostPort mappings of attachments into an nftables
// table of family inet.
type Table struct {
	nft knftables.Interface
}

// New returns a Table over nft.
func New(nft knftables.Interface) *Table { return &Table{nft: nft} }

// Open returns a Table over the named inet table of the calling thread's
// network namespace.
func Open(table string) (*Table, error) {
	nft, err := knftables.New(knftables.InetFamily, table)
	if err != nil {
		return nil, fmt.Errorf("failed to open nftables table %s: %w", table, err)
	}
	return New(nft), nil
}

// Add maps the attachment's host ports to its addresses, replacing what an
// earlier ADD of the same attachment mapped, in one transaction.
func (t *Table) Add(ctx context.Context, id string, podIPs []netip.Addr, mappings []Mapping) error {
	rules, err := mappingRules(id, podIPs, mappings)
	if err != nil {
		return err
	}
	stale, err := t.rulesOf(ctx, func(owner string) bool { return owner == id })
	if err != nil {
		return err
	}
	tx := t.nft.NewTransaction()
	addBaseChains(tx)
	for _, r := range stale {
		tx.Delete(r)
	}
	for _, r := range rules {
		tx.Add(r)
	}
	if err := t.nft.Run(ctx, tx); err != nil {
		return fmt.Errorf("failed to map host ports: %w", err)
	}
	return nil
}

// Delete removes the attachment's mappings; none is not an error.
func (t *Table) Delete(ctx context.Context, id string) error {
	return t.deleteWhere(ctx, func(owner string) bool { return owner == id })
}

// GC removes the mappings of every attachment keep rejects.
func (t *Table) GC(ctx context.Context, keep func(id string) bool) error {
	return t.deleteWhere(ctx, func(owner string) bool { return !keep(owner) })
}

func (t *Table) deleteWhere(ctx context.Context, match func(owner string) bool) error {
	rules, err := t.rulesOf(ctx, match)
	if err != nil || len(rules) == 0 {
		return err
	}
	tx := t.nft.NewTransaction()
	for _, r := range rules {
		tx.Delete(r)
	}
	if err := t.nft.Run(ctx, tx); err != nil {
		return fmt.Errorf("failed to remove host port mappings: %w", err)
	}
	return nil
}

// rulesOf lists the mapping rules whose owner matches, by handle.
func (t *Table) rulesOf(ctx context.Context, match func(owner string) bool) ([]*knftables.Rule, error) {
	var out []*knftables.Rule
	for _, chain := range []string{dnatChain, hairpinChain} {
		rules, err := t.nft.ListRules(ctx, chain)
		if knftables.IsNotFound(err) || errors.Is(err, exec.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("failed to list host port rules: %w", err)
		}
		for _, r := range rules {
			if r.Comment != nil && match(*r.Comment) {
				out = append(out, &knftables.Rule{Chain: chain, Handle: r.Handle})
			}
		}
	}
	return out, nil
}

// addBaseChains creates the chains if missing and rewrites the jumps of
// the hooked ones (flush and add commit together, so concurrent ADDs leave
// one copy); the mapping chains are only ever added to. The node's own
// connections to loopback addresses are left alone.
func addBaseChains(tx *knftables.Transaction) {
	tx.Add(&knftables.Table{})
	tx.Add(&knftables.Chain{Name: dnatChain})
	tx.Add(&knftables.Chain{Name: hairpinChain})
	nat := knftables.PtrTo(knftables.NATType)
	for _, c := range []struct {
		name  string
		rules []string
		hook  knftables.BaseChainHook
		prio  knftables.BaseChainPriority
	}{
		{preroutingChain, []string{"fib daddr type local jump " + dnatChain}, knftables.PreroutingHook, knftables.DNATPriority},
		{outputChain, []string{
			"meta nfproto ipv4 ip daddr != 127.0.0.0/8 fib daddr type local jump " + dnatChain,
			"meta nfproto ipv6 ip6 daddr != ::1 fib daddr type local jump " + dnatChain,
		}, knftables.OutputHook, knftables.DNATPriority},
		{postroutingChain, []string{"ct status dnat jump " + hairpinChain}, knftables.PostroutingHook, knftables.SNATPriority},
	} {
		tx.Add(&knftables.Chain{Name: c.name, Type: nat, Hook: knftables.PtrTo(c.hook), Priority: knftables.PtrTo(c.prio)})
		tx.Flush(&knftables.Chain{Name: c.name})
		for _, r := range c.rules {
			tx.Add(&knftables.Rule{Chain: c.name, Rule: r})
		}
	}
}

// mappingRules returns the DNAT rules of the mappings, for each pod address
// of the family of the mapping's host IP (both without one), and a hairpin
// rule per pod address; every rule carries the attachment's id.
func mappingRules(id string, podIPs []netip.Addr, mappings []Mapping) ([]*knftables.Rule, error) {
	owner := knftables.PtrTo(id)
	var out []*knftables.Rule
	for _, m := range mappings {
		proto, err := protocol(m.Protocol)
		if err != nil {
			return nil, err
		}
		if m.HostPort < 1 || m.HostPort > 65535 || m.ContainerPort < 1 || m.ContainerPort > 65535 {
			return nil, fmt.Errorf("invalid port mapping %d:%d", m.HostPort, m.ContainerPort)
		}
		host, err := hostAddr(m.HostIP)
		if err != nil {
			return nil, err
		}
		for _, ip := range podIPs {
			if host.IsValid() && host.Is6() != ip.Is6() {
				continue
			}
			out = append(out, &knftables.Rule{Chain: dnatChain, Comment: owner,
				Rule: fmt.Sprintf("%s meta l4proto %s th dport %d dnat %s to %s", daddrMatch(host, ip), proto, m.HostPort,
					family(ip), netip.AddrPortFrom(ip, uint16(m.ContainerPort)))})
		}
	}
	for _, ip := range podIPs {
		out = append(out, &knftables.Rule{Chain: hairpinChain, Comment: owner,
			Rule: fmt.Sprintf("%[1]s saddr %[2]s %[1]s daddr %[2]s snat %[1]s to %[3]s", family(ip), ip, hairpinSource[ip.Is6()])})
	}
	return out, nil
}

func protocol(p string) (string, error) {
	switch strings.ToLower(p) {
	case "", "tcp":
		return "tcp", nil
	case "udp":
		return "udp", nil
	case "sctp":
		return "sctp", nil
	}
	return "", fmt.Errorf("unsupported port mapping protocol %q", p)
}

// hostAddr parses a mapping's host IP; none, 0.0.0.0 and :: mean every
// local address.
func hostAddr(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("invalid port mapping host IP %q: %w", s, err)
	}
	if a.IsUnspecified() {
		return netip.Addr{}, nil
	}
	return a.Unmap(), nil
}

func daddrMatch(host, ip netip.Addr) string {
	if host.IsValid() {
		return family(ip) + " daddr " + host.String()
	}
	return "meta nfproto " + map[bool]string{false: "ipv4", true: "ipv6"}[ip.Is6()]
}

func family(ip netip.Addr) string {
	if ip.Is6() {
		return "ip6"
	}
	return "ip"
}
