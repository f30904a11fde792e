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

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	report, cmd, err := readRun("testdata/run")
	if err != nil {
		t.Fatal(err)
	}
	if cmd != "bin/e2e/ginkgo --focus=x bin/e2e/e2e.test" {
		t.Errorf("command = %q", cmd)
	}
	s := summarize(report)
	want := map[string]counts{
		"[sig-network] Networking Granular Checks: Pods": {Passed: 1, Seconds: 30},
		"External Storage: provisioning":                 {Passed: 1, Seconds: 20},
		"External Storage: volumes":                      {Failed: 1, Skipped: 2, Seconds: 40.2},
	}
	if len(s.Suites) != len(want) {
		t.Errorf("suites = %v, want %v", s.suiteNames(), want)
	}
	for name, w := range want {
		got := s.Suites[name]
		if got == nil || got.Passed != w.Passed || got.Failed != w.Failed || got.Skipped != w.Skipped {
			t.Errorf("suite %q: got %+v, want %+v", name, got, w)
		}
	}
	if s.NotSelected != 1 {
		t.Errorf("not selected = %d, want 1 (the spec skipped without a reason)", s.NotSelected)
	}
	if len(s.Failures) != 1 || s.Failures[0].reason != "failed: [FAILED] Timed out after 300s." {
		t.Errorf("failures = %+v", s.Failures)
	}
	reason := "Driver csi.plinth.dev doesn't support InlineVolume -- skipping"
	if s.Skips[reason]["External Storage: volumes"] != 1 {
		t.Errorf("skips = %v, want %q under volumes", s.Skips, reason)
	}
}

func TestSuiteOf(t *testing.T) {
	for name, want := range map[string]string{
		"[sig-storage] External Storage [Driver: csi.plinth.dev] [Testpattern: Dynamic PV (default fs)] subPath should x":             "External Storage: subPath",
		"[sig-storage] External Storage [Driver: csi.plinth.dev] [Testpattern: Dynamic PV [Feature:X] (ext4)] volume-expand should y": "External Storage: volume-expand",
		"External Storage [Driver: csi.plinth.dev] [Testpattern: Dynamic PV (ntfs)] [Feature:Windows] multiVolume [Slow] should z":    "External Storage: multiVolume",
		"[sig-storage] External Storage [Driver: csi.plinth.dev] something else":                                                      "External Storage",
		"[sig-network] Networking Granular Checks: Services should function for pod-Service: http":                                    "[sig-network] Networking Granular Checks: Services",
	} {
		if got := suiteOf(name); got != want {
			t.Errorf("suiteOf(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestWriteMarkdown(t *testing.T) {
	report, _, err := readRun("testdata/run")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := writeMarkdown(&b, summarize(report), page{Set: "ci", Commands: []string{"ginkgo --focus=x e2e.test"}, Notes: "## Notes\n"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"2 specs passed, 1 failed, 2 skipped; 1 specs", "ginkgo --focus=x e2e.test",
		"| External Storage: volumes | 0 | 1 | 2 |",
		"| **Total** | **2** | **1** | **2** |",
		"| Driver csi.plinth.dev doesn't support InlineVolume -- skipping | 1 | volumes (1) |",
		"## Notes",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}

func TestReadRunWithoutReport(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "command"), []byte("ginkgo e2e.test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, cmd, err := readRun(dir)
	if cmd != "ginkgo e2e.test" || err == nil {
		t.Errorf("readRun = %q, %v; want the command and an error for the missing report", cmd, err)
	}
}

func TestRerunSupersedes(t *testing.T) {
	first, _, err := readRun("testdata/run")
	if err != nil {
		t.Fatal(err)
	}
	rerun := &testSuites{Suites: []testSuite{{Cases: []testCase{
		{Name: "[It] [sig-storage] External Storage [Driver: csi.plinth.dev] [Testpattern: Dynamic PV (block volmode)] volumes should store data", Status: "passed"},
		{Name: "[It] [sig-network] Networking Granular Checks: Pods should function for intra-pod communication: http [NodeConformance] [Conformance]", Status: "skipped", Skipped: &message{Message: "skipped"}},
	}}}}
	s := summarize(first, rerun)
	if s.Total.Failed != 0 || s.Total.Passed != 3 {
		t.Errorf("totals = %+v, want the rerun's pass to replace the failure and the unselected spec to keep its pass", s.Total)
	}
}
