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

package controlplane

import (
	"slices"
	"testing"
)

// Unset client limits pass no flag, so the components keep their own
// defaults; set ones become --kube-api-qps and --kube-api-burst.
func TestClientLimitsBecomeFlagsOnlyWhenSet(t *testing.T) {
	if flags := (ClientLimits{}).flags(); len(flags) != 0 {
		t.Errorf("unset limits give flags %v, want none", flags)
	}
	want := []string{"--kube-api-qps=1000", "--kube-api-burst=2000"}
	if flags := TunedClientLimits.flags(); !slices.Equal(flags, want) {
		t.Errorf("tuned limits give flags %v, want %v", flags, want)
	}
	if got := (ClientLimits{QPS: 2.5}).flags(); !slices.Equal(got, []string{"--kube-api-qps=2.5"}) {
		t.Errorf("a QPS alone gives flags %v", got)
	}
	if got := (ClientLimits{}).String(); got != "defaults" {
		t.Errorf("unset limits read %q", got)
	}
}
