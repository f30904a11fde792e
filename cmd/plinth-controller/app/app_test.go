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

package app_test

import (
	"testing"

	"github.com/plinth-dev/plinth/cmd/plinth-controller/app"
)

func TestSchemeKnowsEveryPlinthAPI(t *testing.T) {
	s, err := app.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	for _, gv := range []string{"v1", "network.plinth.dev/v1alpha1", "storage.plinth.dev/v1alpha1", "snapshot.storage.k8s.io/v1"} {
		found := false
		for _, v := range s.PrioritizedVersionsAllGroups() {
			found = found || v.String() == gv
		}
		if !found {
			t.Errorf("scheme lacks %s", gv)
		}
	}
}
