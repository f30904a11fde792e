package agent

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

const (
	nftTableName = "plinth"
	nftChainName = "postrouting"
)

var nftTable = &nftables.Table{Family: nftables.TableFamilyINet, Name: nftTableName}

// syncMasquerade replaces the agent's nftables table in one transaction:
// pod traffic from a cluster CIDR to anything outside the cluster CIDRs of
// its family is masqueraded to the node's address.
func (a *Agent) syncMasquerade() error {
	if !a.cfg.Masquerade {
		return a.deleteMasquerade()
	}
	conn, err := nftables.New()
	if err != nil {
		return fmt.Errorf("failed to open nftables: %w", err)
	}
	table := conn.AddTable(nftTable)
	conn.FlushTable(table)
	chain := conn.AddChain(&nftables.Chain{
		Name: nftChainName, Table: table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource,
	})
	for _, src := range a.clusterCIDRs {
		conn.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: masqueradeExprs(src, a.clusterCIDRs)})
	}
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("failed to program masquerade rules: %w", err)
	}
	return nil
}

// masqueradeExprs builds: meta nfproto <family> <saddr> in src, <daddr> not
// in every cluster CIDR of the family, masquerade.
func masqueradeExprs(src netip.Prefix, cluster []netip.Prefix) []expr.Any {
	proto, saddr, daddr := byte(unix.NFPROTO_IPV4), uint32(12), uint32(16)
	if src.Addr().Is6() {
		proto, saddr, daddr = unix.NFPROTO_IPV6, 8, 24
	}
	exprs := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
	}
	exprs = append(exprs, matchPrefix(saddr, src, expr.CmpOpEq)...)
	for _, dst := range cluster {
		if dst.Addr().Is4() == src.Addr().Is4() {
			exprs = append(exprs, matchPrefix(daddr, dst, expr.CmpOpNeq)...)
		}
	}
	return append(exprs, &expr.Masq{})
}

// matchPrefix compares the address at offset in the network header, masked
// to the prefix length, with the prefix.
func matchPrefix(offset uint32, p netip.Prefix, op expr.CmpOp) []expr.Any {
	size := uint32(net.IPv4len)
	if p.Addr().Is6() {
		size = net.IPv6len
	}
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: size},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: size,
			Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()), Xor: make([]byte, size)},
		&expr.Cmp{Op: op, Register: 1, Data: p.Addr().AsSlice()},
	}
}

// deleteMasquerade removes the agent's table if present.
func (a *Agent) deleteMasquerade() error {
	conn, err := nftables.New()
	if err != nil {
		return fmt.Errorf("failed to open nftables: %w", err)
	}
	tables, err := conn.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return fmt.Errorf("failed to list nftables tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == nftTableName {
			conn.DelTable(t)
			if err := conn.Flush(); err != nil {
				return fmt.Errorf("failed to delete nftables table %s: %w", nftTableName, err)
			}
			return nil
		}
	}
	return nil
}
