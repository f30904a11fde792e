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

package snapshotschedule

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestSnapshotNameIsDeterministicValidAndUnambiguous(t *testing.T) {
	slot := at("2026-11-22T10:00:00Z")
	if a, b := snapshotName("nightly", "data", slot), snapshotName("nightly", "data", slot); a != b {
		t.Errorf("same run, different names: %q, %q", a, b)
	}
	if !strings.HasPrefix(snapshotName("nightly", "data", slot), "nightly-data-20261122100000-") {
		t.Errorf("name %q does not read as schedule, claim and run", snapshotName("nightly", "data", slot))
	}
	if snapshotName("a", "b-c", slot) == snapshotName("a-b", "c", slot) {
		t.Error("schedule a with claim b-c and schedule a-b with claim c share a name")
	}
	if snapshotName("nightly", "data", slot) == snapshotName("nightly", "data", at("2026-11-22T11:00:00Z")) {
		t.Error("two runs share a name")
	}
	long := snapshotName(strings.Repeat("s", 63), strings.Repeat("c", 253), slot)
	if errs := validation.IsDNS1123Subdomain(long); len(errs) > 0 {
		t.Errorf("long name %q: %v", long, errs)
	}
}

func TestClaimLabelValueFitsALabel(t *testing.T) {
	for _, claim := range []string{"data", strings.Repeat("c", 63), strings.Repeat("c", 64), strings.Repeat("c", 253)} {
		v := claimLabelValue(claim)
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			t.Errorf("claim of %d characters: label value %q: %v", len(claim), v, errs)
		}
		if len(claim) <= 63 && v != claim {
			t.Errorf("short claim %q labelled %q", claim, v)
		}
	}
	if claimLabelValue(strings.Repeat("c", 100)) == claimLabelValue(strings.Repeat("c", 101)) {
		t.Error("two long claims share a label value")
	}
}
