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

package netpol_test

import (
	"testing"

	"github.com/plinth-dev/plinth/cni-plugin/netpol"
)

// TestCompiledMatrixMatchesReference checks every case's full matrix (both
// families, TCP and UDP, ports 80 and 81) as the compiled programs of two
// nodes decide it against the reference evaluator.
func TestCompiledMatrixMatchesReference(t *testing.T) {
	if len(policyCases) < 40 {
		t.Fatalf("only %d cases", len(policyCases))
	}
	for _, tc := range policyCases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			if tc.mutate != nil {
				tc.mutate(w)
			}
			probes := w.matrix([]bool{false, true}, probePorts)
			want, got := expected(w, tc.policies, probes), compiled(w, tc.policies, probes)
			denied := 0
			for _, p := range probes {
				if !want[p.String()] {
					denied++
				}
				if got[p.String()] != want[p.String()] {
					t.Errorf("%s: compiled allows=%v, reference %v", p, got[p.String()], want[p.String()])
				}
			}
			if len(tc.policies) > 0 && !tc.allowsAll && denied == 0 {
				t.Errorf("the case denies nothing")
			}
			problems := 0
			for _, n := range w.nodes() {
				prog := netpol.Compile(netpol.Input{NodeName: n, Policies: tc.policies, Pods: w.pods, Namespaces: w.namespaces})
				problems = max(problems, len(prog.Problems))
			}
			if problems != tc.problems {
				t.Errorf("got %d problems, want %d", problems, tc.problems)
			}
		})
	}
}
