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

package agent

import (
	"cmp"
	"context"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/plinth-dev/plinth/cni-plugin/ipam"
)

// sweepCase is one attachment in the store and the pod the API has under
// its pod's name.
type sweepCase struct {
	name string
	// pod of the reservation; zero for a record without one.
	pod ipam.Pod
	// apiPod builds the pod the API server has, given the reservation's
	// addresses; nil for none.
	apiPod func(ips []netip.Addr) *corev1.Pod
	// notCached leaves the pod out of the node's cache.
	notCached bool
	// wantReason is the release reason, "" to keep the reservation.
	wantReason string
	// ifName is the attachment's interface; empty means eth0.
	ifName string
}

func podNamed(name, uid string, mutate func(*corev1.Pod)) func([]netip.Addr) *corev1.Pod {
	return func([]netip.Addr) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID(uid)},
			Spec:       corev1.PodSpec{NodeName: "n1"},
			Status:     corev1.PodStatus{Phase: corev1.PodRunning},
		}
		if mutate != nil {
			mutate(p)
		}
		return p
	}
}

func withIPs(ips ...string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		for _, ip := range ips {
			p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: ip})
		}
	}
}

func running(name, uid string) func([]netip.Addr) *corev1.Pod {
	return func(ips []netip.Addr) *corev1.Pod {
		return podNamed(name, uid, withIPs(ips[0].String(), ips[1].String()))(ips)
	}
}

func sweepCases() []sweepCase {
	pod := func(name, uid string) ipam.Pod { return ipam.Pod{Namespace: "ns", Name: name, UID: uid} }
	return []sweepCase{
		{name: "pod deleted", pod: pod("gone", "u-gone"), wantReason: sweptPodGone},
		{name: "pod recreated under the same name", pod: pod("web-0", "u-old"), apiPod: podNamed("web-0", "u-new", nil), wantReason: sweptPodReplaced},
		{name: "pod succeeded", pod: pod("job", "u-job"), apiPod: podNamed("job", "u-job", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }), wantReason: sweptPodTerminated},
		{name: "pod failed", pod: pod("crash", "u-crash"), apiPod: podNamed("crash", "u-crash", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }), wantReason: sweptPodTerminated},
		{name: "pod runs in a newer sandbox", pod: pod("moved", "u-moved"), apiPod: podNamed("moved", "u-moved", withIPs("10.244.1.200", "fd00:10:244:1::200")), wantReason: sweptSandboxReplaced},
		{name: "pod runs with the address", pod: pod("live", "u-live"), apiPod: running("live", "u-live")},
		{name: "pod has not reported addresses", pod: pod("starting", "u-starting"), apiPod: podNamed("starting", "u-starting", nil)},
		{name: "cache lags behind the API", pod: pod("new", "u-new"), apiPod: running("new", "u-new"), notCached: true},
		{name: "record without a pod", pod: ipam.Pod{}},
		{name: "secondary attachment", pod: pod("multi", "u-multi"), apiPod: podNamed("multi", "u-multi", withIPs("10.244.1.201")), ifName: "net1"},
	}
}

// key is the case's attachment: its interface is eth0 unless it says.
func (c sweepCase) key() ipam.Key {
	return ipam.Key{ContainerID: c.name, IfName: cmp.Or(c.ifName, "eth0")}
}

// sweepFixture is a store filled with the cases' reservations, and the
// cache and API server holding their pods.
type sweepFixture struct {
	store      *ipam.Store
	dataDir    string
	cache, api client.Client
	ids        map[string]string // case name by allocation ID
}

func newSweepFixture(t *testing.T, cases []sweepCase, apiFuncs interceptor.Funcs) *sweepFixture {
	t.Helper()
	f := &sweepFixture{dataDir: t.TempDir(), ids: map[string]string{}}
	store, err := ipam.Open(f.dataDir, DefaultNetworkName)
	if err != nil {
		t.Fatal(err)
	}
	f.store = store
	ranges := []netip.Prefix{netip.MustParsePrefix("10.244.1.0/24"), netip.MustParsePrefix("fd00:10:244:1::/64")}
	cache, api := fake.NewClientBuilder(), fake.NewClientBuilder().WithInterceptorFuncs(apiFuncs)
	for i, c := range cases {
		a, err := store.Allocate(c.key(), ranges, c.pod)
		if err != nil {
			t.Fatal(err)
		}
		f.ids[a.ID] = cases[i].name
		if c.apiPod == nil {
			continue
		}
		api = api.WithObjects(c.apiPod(a.IPs))
		if !c.notCached {
			cache = cache.WithObjects(c.apiPod(a.IPs))
		}
	}
	f.cache, f.api = cache.Build(), api.Build()
	return f
}

func (f *sweepFixture) sweeper(grace time.Duration, cleaned *[]string) *Sweeper {
	return &Sweeper{
		NodeName: "n1", DataDir: f.dataDir, Network: DefaultNetworkName, Pods: f.cache, APIReader: f.api, Grace: grace,
		cleanup: func(a ipam.Allocation) error { *cleaned = append(*cleaned, f.ids[a.ID]); return nil },
	}
}

func TestSweepReleasesReservationsOfDeadSandboxes(t *testing.T) {
	cases := sweepCases()
	f := newSweepFixture(t, cases, interceptor.Funcs{})
	before := map[string]float64{}
	for _, reason := range []string{sweptPodGone, sweptPodReplaced, sweptPodTerminated, sweptSandboxReplaced} {
		before[reason] = testutil.ToFloat64(sweptReservations.WithLabelValues(reason))
	}
	var cleaned []string
	released, err := f.sweeper(time.Nanosecond, &cleaned).Sweep(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range released {
		names = append(names, f.ids[r.ID])
	}
	wantCounts := map[string]float64{}
	for _, c := range cases {
		_, held, err := f.store.Get(c.key())
		if err != nil {
			t.Fatal(err)
		}
		swept := slices.Contains(names, c.name)
		if want := c.wantReason != ""; swept != want || held == want || slices.Contains(cleaned, c.name) != want {
			t.Errorf("%s: released %v, still held %v, host veth removed %v; want released %v", c.name, swept, held, slices.Contains(cleaned, c.name), want)
		}
		if c.wantReason != "" {
			wantCounts[c.wantReason]++
		}
	}
	for reason, want := range wantCounts {
		if got := testutil.ToFloat64(sweptReservations.WithLabelValues(reason)) - before[reason]; got != want {
			t.Errorf("metric %s counted %v releases, want %v", reason, got, want)
		}
	}
}

func TestSweepKeepsReservationsWithinTheGracePeriod(t *testing.T) {
	f := newSweepFixture(t, sweepCases(), interceptor.Funcs{})
	var cleaned []string
	released, err := f.sweeper(time.Hour, &cleaned).Sweep(t.Context())
	if err != nil || len(released) != 0 || len(cleaned) != 0 {
		t.Errorf("Sweep within the grace period released %v (cleaned %v), err %v", released, cleaned, err)
	}
}

// When the API server cannot confirm that a pod is gone, its reservation is
// kept and the error reported; the other reservations are still swept.
func TestSweepKeepsReservationsItCannotConfirm(t *testing.T) {
	cases := sweepCases()[:2] // pod deleted, pod recreated
	unavailable := interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		if key.Name == "gone" {
			return apierrors.NewServiceUnavailable("etcd is down")
		}
		return c.Get(ctx, key, obj, opts...)
	}}
	f := newSweepFixture(t, cases, unavailable)
	var cleaned []string
	released, err := f.sweeper(time.Nanosecond, &cleaned).Sweep(t.Context())
	if err == nil || len(released) != 1 || f.ids[released[0].ID] != "pod recreated under the same name" {
		t.Errorf("Sweep = %v, %v; want the recreated pod's reservation and an error", released, err)
	}
}

// A store that does not exist (the agent never ran, or Uninstall removed
// it) is not created by the sweep.
func TestSweepDoesNotCreateAStore(t *testing.T) {
	s := &Sweeper{NodeName: "n1", DataDir: t.TempDir() + "/none", Network: DefaultNetworkName}
	if released, err := s.Sweep(t.Context()); err != nil || released != nil {
		t.Fatalf("Sweep = %v, %v", released, err)
	}
	if _, err := os.Stat(s.DataDir); !os.IsNotExist(err) {
		t.Errorf("Sweep created the store: %v", err)
	}
}
