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

package nslabel

import (
	"strings"
	"testing"
)

func TestLabelsRejectBadKeysAndValues(t *testing.T) {
	for _, bad := range []string{"novalue", "bad key=x", "pod-security.kubernetes.io/enforce=not valid", "=x"} {
		if err := (Labels{}).Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
	l := Labels{}
	for _, good := range []string{"pod-security.kubernetes.io/enforce=privileged", "a=", "b=c"} {
		if err := l.Set(good); err != nil {
			t.Errorf("Set(%q): %v", good, err)
		}
	}
	if got := l.String(); !strings.HasPrefix(got, "a=,b=c,pod-security") {
		t.Errorf("String() = %q", got)
	}
}
