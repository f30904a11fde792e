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

// Package hostport maps pods' hostPorts (the CNI portMappings capability)
// to their addresses with nftables DNAT, in the agent's table "inet
// plinth", next to the agent's and the policy engine's objects; every
// object here is named hp-*.
//
// The plugin calls Add on ADD, Delete on DEL and GC on GC, each in one
// transaction. Connections to a local address of the node on a mapped port
// are translated: those arriving from other hosts in the prerouting hook
// (hp-prerouting), the node's own in the output hook (hp-output), both by
// jumping to hp-dnat, which holds one DNAT rule per mapping and pod
// address. A mapping with a host IP matches that destination only; one
// without matches every local address of both families. A pod that
// reaches its own hostPort (hairpin) has its source rewritten in
// hp-hairpin to the link-local next hop every pod routes through, so its
// reply comes back through the host to be translated.
//
// Each rule carries the attachment's ID as its comment, which is how DEL
// and GC find it. Hooked chains keep a single jump each: an ADD flushes and
// rewrites it in its own transaction, so concurrent ADDs cannot duplicate
// it; the mapping chains are only ever added to and deleted from by
// handle. Connections to 127.0.0.1 are not mapped.
package hostport
