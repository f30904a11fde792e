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

package backendtest

import (
	"crypto/rand"
	"flag"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kubernetes-csi/csi-test/v5/pkg/sanity"
	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/csi-driver/internal/drivertest"
)

// accessTypes are the csi-sanity volume access types, each run against a
// driver of its own.
var accessTypes = []string{"mount", "block"}

// sanityRan records that csi-sanity has run in this test binary.
var sanityRan atomic.Bool

// runSanity runs the csi-sanity suite for every target and access type in
// one Ginkgo run, which Ginkgo allows once per process.
func runSanity(t *testing.T, targets []target) {
	// Ginkgo refuses to start under go test -count=N, and exits the
	// process, skipping every cleanup (mounts included), when asked to run
	// a suite a second time: the suite then runs in a process of its own.
	if count := flag.Lookup("test.count"); (count != nil && count.Value.String() != "1") || sanityRan.Swap(true) {
		rerunAlone(t)
		return
	}
	var contexts []*sanity.TestContext
	for _, tg := range targets {
		for _, accessType := range accessTypes {
			cfg := sanityConfig(drivertest.Serve(t, tg.newBackend(t), tg.fsType), accessType)
			ginkgo.Describe(tg.name+"/"+accessType, func() {
				contexts = append(contexts, sanity.GinkgoTest(cfg))
			})
		}
	}
	ginkgo.ReportAfterSuite("per-backend summary", func(r ginkgo.Report) { logSummary(t, r) })
	gomega.RegisterFailHandler(ginkgo.Fail)
	suite, reporter := ginkgo.GinkgoConfiguration()
	suite.Timeout = 0
	reporter.Succinct = true
	ginkgo.RunSpecs(t, "CSI sanity", suite, reporter)
	for _, sc := range contexts {
		sc.Finalize()
	}
}

// rerunAlone runs the test t again, alone, in a new process of the test
// binary, and fails t when it fails (or does not run).
func rerunAlone(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("failed to find the test binary to run csi-sanity again: %v", err)
	}
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	args := []string{"-test.run=" + strings.Join(parts, "/"), "-test.count=1", "-test.v"}
	if timeout := flag.Lookup("test.timeout"); timeout != nil {
		args = append(args, "-test.timeout="+timeout.Value.String())
	}
	out, err := exec.CommandContext(t.Context(), exe, args...).CombinedOutput()
	// Ginkgo's last line may precede the verdict on the same line.
	pass := regexp.MustCompile(`--- PASS: ` + regexp.QuoteMeta(strings.Split(t.Name(), "/")[0]) + ` \(`)
	if err != nil || !pass.Match(out) {
		t.Fatalf("csi-sanity, run again in a process of its own (%s %v): %v\n%s", exe, args, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, " passed, ") {
			t.Log(strings.TrimSpace(line))
		}
	}
}

func sanityConfig(d *drivertest.Driver, accessType string) *sanity.TestConfig {
	cfg := sanity.NewTestConfig()
	cfg.Address = d.Endpoint
	cfg.TargetPath = filepath.Join(d.Dir, "target")
	cfg.StagingPath = filepath.Join(d.Dir, "staging")
	cfg.TestVolumeSize = drivertest.VolumeSize
	cfg.TestVolumeAccessType = accessType
	cfg.IdempotentCount = 3
	cfg.IDGen = idGenerator{}
	return &cfg
}

// logSummary logs pass, skip and fail counts per backend and access type,
// and the reason of every skip.
func logSummary(t *testing.T, r ginkgo.Report) {
	counts := map[string]map[types.SpecState]int{}
	for _, s := range r.SpecReports {
		if len(s.ContainerHierarchyTexts) == 0 {
			continue
		}
		group := s.ContainerHierarchyTexts[0]
		if counts[group] == nil {
			counts[group] = map[types.SpecState]int{}
		}
		counts[group][s.State]++
		if s.State == types.SpecStateSkipped {
			t.Logf("%s: skipped %q: %s", group, strings.Join(s.ContainerHierarchyTexts[1:], " ")+" "+s.LeafNodeText, skipReason(s))
		}
	}
	for _, group := range slices.Sorted(maps.Keys(counts)) {
		c := counts[group]
		t.Logf("%s: %d passed, %d skipped, %d failed", group, c[types.SpecStatePassed], c[types.SpecStateSkipped], c[types.SpecStateFailed])
	}
}

func skipReason(s types.SpecReport) string {
	return s.Failure.Message
}

// idGenerator gives csi-sanity IDs in the driver's format, and malformed
// ones that try path traversal.
type idGenerator struct{}

func (idGenerator) GenerateUniqueValidVolumeID() string {
	return string(backend.NewVolumeID(rand.Text()))
}

func (idGenerator) GenerateInvalidVolumeID() string { return "../../../etc/passwd" }

func (idGenerator) GenerateUniqueValidNodeID() string { return "node-" + strings.ToLower(rand.Text()) }

func (idGenerator) GenerateInvalidNodeID() string { return "" }
