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

package chart_test

import (
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
)

func TestRenderNamespaceHookRefusesASharedNamespaceUnlessAllowed(t *testing.T) {
	for value, want := range map[string]string{"": "--allow-shared=false", "namespace.allowPrivilegedLabelOnShared=true": "--allow-shared=true"} {
		args := []string{}
		if value != "" {
			args = append(args, "--set", value)
		}
		m := renderChart(t, args...)
		var job batchv1.Job
		m.decode(t, "Job", renderFullname+"-namespace-labels", &job)
		c := renderContainer(t, job.Spec.Template.Spec.Containers, "label-namespace")
		renderWantArgs(t, "label-namespace", c.Args, "--release="+renderRelease, want)
		if !m.has("Role", renderFullname+"-namespace-labels") {
			t.Errorf("the hook has no Role to list the namespace's pods")
		}
	}
}

func TestRenderControllerGetsTheScheduleMinimumInterval(t *testing.T) {
	m := renderChart(t, "--set", "controller.snapshotScheduleMinInterval=1h")
	var d appsv1.Deployment
	m.decode(t, "Deployment", renderFullname+"-controller", &d)
	c := renderContainer(t, d.Spec.Template.Spec.Containers, "plinth-controller")
	renderWantArgs(t, "plinth-controller", c.Args, "--snapshotschedule-min-interval=1h")
}

func TestRenderNodeAdmissionPolicyBindsTheNodeServiceAccount(t *testing.T) {
	m := renderChart(t)
	var vap admissionregistrationv1.ValidatingAdmissionPolicy
	m.decode(t, "ValidatingAdmissionPolicy", renderFullname+"-node-scope", &vap)
	wantUser := "system:serviceaccount:" + renderNamespace + ":" + nodeSA
	if len(vap.Spec.MatchConditions) != 1 || !strings.Contains(vap.Spec.MatchConditions[0].Expression, `"`+wantUser+`"`) {
		t.Errorf("match conditions %+v do not select %s", vap.Spec.MatchConditions, wantUser)
	}
	var binding admissionregistrationv1.ValidatingAdmissionPolicyBinding
	m.decode(t, "ValidatingAdmissionPolicyBinding", renderFullname+"-node-scope", &binding)
	if binding.Spec.PolicyName != vap.Name || len(binding.Spec.ValidationActions) != 1 || binding.Spec.ValidationActions[0] != admissionregistrationv1.Deny {
		t.Errorf("binding %+v does not deny with policy %s", binding.Spec, vap.Name)
	}
	if off := renderChart(t, "--set", "node.enabled=false"); off.has("ValidatingAdmissionPolicy", renderFullname+"-node-scope") {
		t.Errorf("the node admission policy is rendered without plinth-node")
	}
}
