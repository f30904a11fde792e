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

package netnstest

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
)

// Throughput runs an iperf3 TCP test from client to an iperf3 server started
// in server on serverIP, and returns the received bits per second.
func Throughput(server, client ns.NetNS, serverIP string, seconds int) (float64, error) {
	srv := exec.Command("iperf3", "-s", "-1", "-B", serverIP)
	if err := server.Do(func(ns.NetNS) error { return srv.Start() }); err != nil {
		return 0, fmt.Errorf("failed to start iperf3 server: %w", err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	var bps float64
	// Poll until the server listens: the client fails fast until then.
	err := Eventually(10*time.Second, func() error {
		out, err := Run(client, "iperf3", "-c", serverIP, "-t", strconv.Itoa(seconds), "-J")
		if err != nil {
			return err
		}
		bps, err = parseIperf(out)
		return err
	})
	return bps, err
}

func parseIperf(out string) (float64, error) {
	var report struct {
		Error string `json:"error"`
		End   struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		return 0, fmt.Errorf("failed to decode iperf3 report: %w", err)
	}
	if report.Error != "" || report.End.SumReceived.BitsPerSecond == 0 {
		return 0, fmt.Errorf("failed to measure throughput: %q", report.Error)
	}
	return report.End.SumReceived.BitsPerSecond, nil
}

// BareVeth connects two new namespaces with a veth pair addressed
// 10.99.0.1/24 and 10.99.0.2/24: the baseline that pod networking is
// compared with.
func BareVeth(t testing.TB) (a, b ns.NetNS) {
	a, b = NewNS(t), NewNS(t)
	MustRun(t, a, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", nsName(b))
	MustRun(t, a, "ip", "addr", "add", "10.99.0.1/24", "dev", "eth0")
	MustRun(t, b, "ip", "addr", "add", "10.99.0.2/24", "dev", "eth0")
	MustRun(t, a, "ip", "link", "set", "eth0", "up")
	MustRun(t, b, "ip", "link", "set", "eth0", "up")
	return a, b
}

// Median returns the median of xs (0 for none); benchmarks report medians
// because throughput on a shared machine has outliers in both directions.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
