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

package wellknown

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestNodeLabelIsAValidLabelValueForEveryNodeName(t *testing.T) {
	short := "node-1.example.com"
	if got := NodeLabel(short); got != short {
		t.Errorf("NodeLabel(%q) = %q, want the name itself", short, got)
	}
	long := strings.Repeat("a", 200) + ".example.com"
	other := strings.Repeat("a", 200) + ".example.org"
	got := NodeLabel(long)
	if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
		t.Errorf("NodeLabel of a %d-character name = %q, not a label value: %v", len(long), got, errs)
	}
	if got != NodeLabel(long) || got == NodeLabel(other) {
		t.Errorf("NodeLabel is not a stable, distinct hash: %q, %q", got, NodeLabel(other))
	}
	if errs := validation.IsValidLabelValue(NodeUnclaimed); len(errs) > 0 || validation.IsDNS1123Subdomain(NodeUnclaimed) == nil {
		t.Errorf("NodeUnclaimed %q must be a label value that no node name can be", NodeUnclaimed)
	}
}
