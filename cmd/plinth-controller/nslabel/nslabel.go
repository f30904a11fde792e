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
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Labels is a flag.Value collecting repeated key=value labels.
type Labels map[string]string

// String implements flag.Value.
func (l Labels) String() string {
	parts := make([]string, 0, len(l))
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"="+l[k])
	}
	return strings.Join(parts, ",")
}

// Set implements flag.Value; it validates the key and the value.
func (l Labels) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("label %q is not key=value", s)
	}
	if errs := validation.IsQualifiedName(k); len(errs) > 0 {
		return fmt.Errorf("invalid label key %q: %s", k, strings.Join(errs, "; "))
	}
	if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
		return fmt.Errorf("invalid value of label %q: %s", k, strings.Join(errs, "; "))
	}
	l[k] = v
	return nil
}

// LabelInstance is the label the chart puts on every pod of a release.
const LabelInstance = "app.kubernetes.io/instance"

// Guard keeps the hook from relabelling a namespace that others use: a
// privileged Pod Security level on a shared namespace would let every
// workload there run privileged.
type Guard struct {
	// Release is the Helm release; pods labelled with it are Plinth's own.
	Release string
	// AllowShared labels the namespace even when pods of other releases
	// or of no release run there (chart value
	// namespace.allowPrivilegedLabelOnShared).
	AllowShared bool
}

// ErrShared is returned when the namespace holds other workloads.
var ErrShared = errors.New("the namespace holds workloads that are not Plinth's")

// Apply merges labels into the namespace's labels; other labels are kept.
// A namespace that already carries the labels is left alone; otherwise the
// guard must pass first.
func Apply(ctx context.Context, c client.Client, namespace string, labels Labels, guard Guard) error {
	ns := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
		return fmt.Errorf("failed to get namespace %s: %w", namespace, err)
	}
	if hasLabels(ns, labels) {
		return nil
	}
	if !guard.AllowShared {
		if err := checkNotShared(ctx, c, namespace, guard.Release); err != nil {
			return err
		}
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": labels}})
	if err != nil {
		return fmt.Errorf("failed to encode the labels: %w", err)
	}
	if err := c.Patch(ctx, ns, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("failed to label namespace %s: %w", namespace, err)
	}
	return nil
}

// hasLabels reports whether the namespace carries every label already.
func hasLabels(ns *corev1.Namespace, labels Labels) bool {
	for k, v := range labels {
		if got, ok := ns.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// checkNotShared refuses a namespace where pods of another release, or of
// none, exist.
func checkNotShared(ctx context.Context, c client.Client, namespace, release string) error {
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(namespace)); err != nil {
		return fmt.Errorf("failed to list the pods of namespace %s: %w", namespace, err)
	}
	var others []string
	for _, p := range pods.Items {
		if release == "" || p.Labels[LabelInstance] != release {
			others = append(others, p.Name)
		}
	}
	if len(others) == 0 {
		return nil
	}
	if len(others) > 3 {
		others = append(others[:3], fmt.Sprintf("and %d more", len(others)-3))
	}
	return fmt.Errorf("%w: refusing to change its Pod Security labels, which would apply to pods %s too; "+
		"install Plinth into a namespace of its own, or set namespace.allowPrivilegedLabelOnShared=true", ErrShared, strings.Join(others, ", "))
}
