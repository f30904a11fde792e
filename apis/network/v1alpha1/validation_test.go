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

package v1alpha1_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	apiextensions "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"github.com/plinth-dev/plinth/test/prereq"
)

// crdSchema generates the ClusterNetwork CRD with the repository's
// controller-gen and returns its structural schema, as the API server
// would build it.
func crdSchema(t *testing.T) *structuralschema.Structural {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(root, "bin", "controller-gen")
	_, statErr := os.Stat(gen)
	prereq.Require(t, statErr == nil, "bin/controller-gen (run `make controller-gen`)")
	out := t.TempDir()
	cmd := exec.Command(gen, "crd", "paths=./apis/network/...", "output:crd:artifacts:config="+out)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("controller-gen: %v: %s", err, msg)
	}
	data, err := os.ReadFile(filepath.Join(out, "network.plinth.dev_clusternetworks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatal(err)
	}
	var internal apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(crd.Spec.Versions[0].Schema.OpenAPIV3Schema, &internal, nil); err != nil {
		t.Fatal(err)
	}
	s, err := structuralschema.NewStructural(&internal)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func object(t *testing.T, name, spec string) map[string]any {
	t.Helper()
	var obj map[string]any
	doc := "apiVersion: network.plinth.dev/v1alpha1\nkind: ClusterNetwork\nmetadata: {name: " + name + "}\nspec: " + spec
	if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

func TestClusterNetworkValidationRules(t *testing.T) {
	s := crdSchema(t)
	validator := cel.NewValidator(s, true, celconfig.PerCallLimit)
	tests := []struct {
		name    string
		objName string
		spec    string
		oldSpec string
		wantErr string
	}{
		{"dual-stack with defaults is valid", "default", `{podCIDRs: ["10.244.0.0/16", "fd00:10:244::/48"]}`, "", ""},
		{"other names are rejected", "second", `{podCIDRs: ["10.244.0.0/16"]}`, "", "named default"},
		{"host bits are rejected", "default", `{podCIDRs: ["10.244.0.1/16"]}`, "", "without host bits"},
		{"two IPv4 CIDRs are rejected", "default", `{podCIDRs: ["10.244.0.0/16", "10.245.0.0/16"]}`, "", "different IP families"},
		{"node mask not longer than the CIDR is rejected", "default", `{podCIDRs: ["10.244.0.0/24"], nodeMaskSize: {ipv4: 24}}`, "", "nodeMaskSize.ipv4"},
		{"IPv6 node mask not longer than the CIDR is rejected", "default", `{podCIDRs: ["fd00::/64"]}`, "", "nodeMaskSize.ipv6"},
		{"changing podCIDRs is rejected", "default", `{podCIDRs: ["10.245.0.0/16"]}`, `{podCIDRs: ["10.244.0.0/16"]}`, "immutable"},
		{"changing the node mask is rejected", "default", `{podCIDRs: ["10.244.0.0/16"], nodeMaskSize: {ipv4: 25}}`, `{podCIDRs: ["10.244.0.0/16"], nodeMaskSize: {ipv4: 24}}`, "immutable"},
		{"changing mode is allowed", "default", `{podCIDRs: ["10.244.0.0/16"], mode: vxlan}`, `{podCIDRs: ["10.244.0.0/16"], mode: auto}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := object(t, tt.objName, tt.spec)
			defaulting.Default(obj, s)
			var old any
			if tt.oldSpec != "" {
				o := object(t, tt.objName, tt.oldSpec)
				defaulting.Default(o, s)
				old = o
			}
			errs, _ := validator.Validate(context.Background(), field.NewPath(""), s, obj, old, celconfig.RuntimeCELCostBudget)
			got := errs.ToAggregate()
			switch {
			case tt.wantErr == "" && got != nil:
				t.Errorf("unexpected rejection: %v", got)
			case tt.wantErr != "" && (got == nil || !strings.Contains(got.Error(), tt.wantErr)):
				t.Errorf("error = %v, want one mentioning %q", got, tt.wantErr)
			}
		})
	}
}
