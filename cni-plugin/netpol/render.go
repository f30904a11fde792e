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
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/knftables"
)

// The engine's fixed nftables objects; every object it owns starts with
// objectPrefix, so it shares the agent's table with the agent's own.
const (
	objectPrefix = "np-"
	forwardChain = "np-forward"
	knownSetV4   = "np-known-4"
	knownSetV6   = "np-known-6"
	ingressMapV4 = "np-ingress-4"
	ingressMapV6 = "np-ingress-6"
	egressMapV4  = "np-egress-4"
	egressMapV6  = "np-egress-6"
)

// setSpec is a set or verdict map with its elements, by element key.
type setSpec struct {
	obj   knftables.Object
	isMap bool
	// interval sets are rewritten whole when they change: their ranges
	// merge in the kernel, so single elements cannot be deleted.
	interval bool
	elems    map[string]*knftables.Element
}

// state is the engine's objects as the kernel holds them after a
// successful transaction.
type state struct {
	sets   map[string]*setSpec
	chains map[string][]string
}

func newSetSpec(obj knftables.Object) *setSpec {
	_, isMap := obj.(*knftables.Map)
	s := &setSpec{obj: obj, isMap: isMap, elems: map[string]*knftables.Element{}}
	if set, ok := obj.(*knftables.Set); ok {
		s.interval = slices.Contains(set.Flags, knftables.IntervalFlag)
	}
	return s
}

func (s *setSpec) name() string {
	if m, ok := s.obj.(*knftables.Map); ok {
		return m.Name
	}
	return s.obj.(*knftables.Set).Name
}

func (s *setSpec) add(key []string, value ...string) {
	e := &knftables.Element{Key: key, Value: value}
	if s.isMap {
		e.Map = s.name()
	} else {
		e.Set = s.name()
	}
	s.elems[strings.Join(key, " . ")] = e
}

// render turns a program into the engine's nftables objects.
func render(prog *Program, vethPrefix string) *state {
	st := &state{sets: map[string]*setSpec{}, chains: map[string][]string{}}
	for _, s := range prog.Sets {
		st.sets[s.Name] = renderSet(s)
	}
	known := [2]*setSpec{
		newSetSpec(&knftables.Set{Name: knownSetV4, Type: "ipv4_addr"}),
		newSetSpec(&knftables.Set{Name: knownSetV6, Type: "ipv6_addr"}),
	}
	maps := map[string]*setSpec{}
	for _, name := range []string{ingressMapV4, egressMapV4, ingressMapV6, egressMapV6} {
		typ := "ipv4_addr : verdict"
		if strings.HasSuffix(name, "6") {
			typ = "ipv6_addr : verdict"
		}
		maps[name] = newSetSpec(&knftables.Map{Name: name, Type: typ})
	}
	for i := range prog.Pods {
		renderPod(st, &prog.Pods[i], known, maps)
	}
	for _, s := range append(known[:], maps[ingressMapV4], maps[egressMapV4], maps[ingressMapV6], maps[egressMapV6]) {
		st.sets[s.name()] = s
	}
	st.chains[forwardChain] = forwardRules(vethPrefix)
	return st
}

func renderSet(s *Set) *setSpec {
	addr := "ipv4_addr"
	if s.IPv6 {
		addr = "ipv6_addr"
	}
	switch s.Kind {
	case AddrSet:
		spec := newSetSpec(&knftables.Set{Name: s.Name, Type: addr})
		for _, a := range s.Addrs {
			spec.add([]string{a.String()})
		}
		return spec
	case RangeSet:
		spec := newSetSpec(&knftables.Set{Name: s.Name, Type: addr, Flags: []knftables.SetFlag{knftables.IntervalFlag}})
		for _, r := range s.Ranges {
			spec.add([]string{r.String()})
		}
		return spec
	default:
		spec := newSetSpec(&knftables.Set{Name: s.Name, Type: addr + " . inet_proto . inet_service"})
		for _, t := range s.Tuples {
			spec.add([]string{t.Addr.String(), string(t.Protocol), strconv.Itoa(int(t.Port))})
		}
		return spec
	}
}

// forwardRules are the base chain's: replies pass, packets of local pods
// the engine has not classified yet are dropped, and the rest jumps to the
// chains of isolated pods, egress of the source first, then ingress of the
// destination. A pod chain returns when it allows the packet.
func forwardRules(vethPrefix string) []string {
	veth := strconv.Quote(vethPrefix + "*")
	return []string{
		"ct state established,related accept",
		"iifname " + veth + " ip saddr != @" + knownSetV4 + " drop",
		"iifname " + veth + " ip6 saddr != @" + knownSetV6 + " drop",
		"oifname " + veth + " ip daddr != @" + knownSetV4 + " drop",
		"oifname " + veth + " ip6 daddr != @" + knownSetV6 + " drop",
		"ip saddr vmap @" + egressMapV4,
		"ip6 saddr vmap @" + egressMapV6,
		"ip daddr vmap @" + ingressMapV4,
		"ip6 daddr vmap @" + ingressMapV6,
	}
}

// contentChain names a chain after its rules, so pods whose rules are the
// same share one chain; a pod whose rules change moves to another chain in
// the same transaction that updates its verdict map entry.
func contentChain(dir string, rules []string) string {
	sum := sha256.Sum256([]byte(strings.Join(rules, "\n")))
	return objectPrefix + dir + "-" + hex.EncodeToString(sum[:6])
}

func renderPod(st *state, pod *PodRules, known [2]*setSpec, maps map[string]*setSpec) {
	for _, a := range pod.IPs {
		known[familyIndex(a)].add([]string{a.String()})
	}
	for _, d := range []struct {
		isolated   bool
		dir        string
		matches    []Match
		mapV4      string
		mapV6      string
		remoteAddr string
	}{
		{pod.IngressIsolated, "in", pod.Ingress, ingressMapV4, ingressMapV6, "saddr"},
		{pod.EgressIsolated, "out", pod.Egress, egressMapV4, egressMapV6, "daddr"},
	} {
		if !d.isolated {
			continue
		}
		rules := make([]string, 0, len(d.matches)+1)
		for _, m := range d.matches {
			rules = append(rules, renderMatch(m, d.remoteAddr, st)...)
		}
		rules = append(rules, "counter drop")
		chain := contentChain(d.dir, rules)
		st.chains[chain] = rules
		for _, a := range pod.IPs {
			name := d.mapV4
			if a.Is6() {
				name = d.mapV6
			}
			maps[name].add([]string{a.String()}, "jump "+chain)
		}
	}
}

// renderMatch writes one match as rules that return (allow) on a hit; the
// remote address is the packet's saddr (ingress) or daddr (egress). Each
// port range gets a rule of its own: anonymous sets would make every
// later nft invocation slow, since nft lists the elements of every set
// in the table, and the kernel's set dump is quadratic in their number.
func renderMatch(m Match, remoteAddr string, st *state) []string {
	if m.TupleSet != "" {
		return []string{fmt.Sprintf("%s %s . meta l4proto . th dport @%s return", family(st, m.TupleSet), remoteAddr, m.TupleSet)}
	}
	peer := ""
	if m.PeerSet != "" {
		peer = fmt.Sprintf("%s %s @%s ", family(st, m.PeerSet), remoteAddr, m.PeerSet)
	}
	if len(m.Ports) == 0 {
		return []string{peer + "return"}
	}
	var out []string
	for _, proto := range []Protocol{TCP, UDP, SCTP} {
		for _, ports := range portsExprs(m.Ports, proto) {
			out = append(out, peer+ports+" return")
		}
	}
	return out
}

func family(st *state, set string) string {
	if strings.HasPrefix(st.sets[set].obj.(*knftables.Set).Type, "ipv6") {
		return "ip6"
	}
	return "ip"
}

// portsExprs matches the protocol and each of its ranges, merged, one
// expression a range.
func portsExprs(ranges []PortRange, proto Protocol) []string {
	var mine []PortRange
	for _, r := range ranges {
		if r.Protocol != proto {
			continue
		}
		if r.allPorts() {
			return []string{"meta l4proto " + string(proto)}
		}
		mine = append(mine, r)
	}
	if len(mine) == 0 {
		return nil
	}
	slices.SortFunc(mine, func(a, b PortRange) int { return int(a.First) - int(b.First) })
	merged := []PortRange{mine[0]}
	for _, r := range mine[1:] {
		last := &merged[len(merged)-1]
		if int(r.First) > int(last.Last)+1 {
			merged = append(merged, r)
		} else if r.Last > last.Last {
			last.Last = r.Last
		}
	}
	out := make([]string, 0, len(merged))
	for _, r := range merged {
		if r.First == r.Last {
			out = append(out, fmt.Sprintf("meta l4proto %s th dport %d", proto, r.First))
		} else {
			out = append(out, fmt.Sprintf("meta l4proto %s th dport %d-%d", proto, r.First, r.Last))
		}
	}
	return out
}
