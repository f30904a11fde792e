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
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
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

func TestApplyRefusesASharedNamespaceUnlessAllowed(t *testing.T) {
	privileged := Labels{"pod-security.kubernetes.io/enforce": "privileged"}
	ours := map[string]string{LabelInstance: "plinth"}
	for _, tc := range []struct {
		name      string
		podLabels []map[string]string
		nsLabels  map[string]string
		guard     Guard
		wantErr   bool
	}{
		{"an empty namespace", nil, nil, Guard{Release: "plinth"}, false},
		{"only the release's pods", []map[string]string{ours, ours}, nil, Guard{Release: "plinth"}, false},
		{"another release's pod", []map[string]string{ours, {LabelInstance: "shop"}}, nil, Guard{Release: "plinth"}, true},
		{"a pod of no release", []map[string]string{nil}, nil, Guard{Release: "plinth"}, true},
		{"another workload, allowed by the value", []map[string]string{nil}, nil, Guard{Release: "plinth", AllowShared: true}, false},
		{"another workload, labels already set", []map[string]string{nil}, map[string]string(privileged), Guard{Release: "plinth"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := []client.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plinth-system", Labels: tc.nsLabels}}}
			for i, l := range tc.podLabels {
				objs = append(objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "plinth-system", Name: fmt.Sprintf("pod-%d", i), Labels: l}})
			}
			c := fake.NewClientBuilder().WithObjects(objs...).Build()
			err := Apply(context.Background(), c, "plinth-system", privileged, tc.guard)
			if (err != nil) != tc.wantErr || tc.wantErr && !errors.Is(err, ErrShared) {
				t.Fatalf("Apply: err = %v, want error %v", err, tc.wantErr)
			}
			ns := &corev1.Namespace{}
			if err := c.Get(context.Background(), client.ObjectKey{Name: "plinth-system"}, ns); err != nil {
				t.Fatal(err)
			}
			if labelled := ns.Labels["pod-security.kubernetes.io/enforce"] == "privileged"; labelled == tc.wantErr {
				t.Errorf("namespace labels %v after Apply (refused: %v)", ns.Labels, tc.wantErr)
			}
		})
	}
}
