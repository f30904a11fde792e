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

package upstream

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/devcluster"
	"github.com/plinth-dev/plinth/test/prereq"
)

// TestUpstreamSubset runs the CI set of hack/test-upstream.sh; its reports
// and summary stay under bin/e2e-upstream.
func TestUpstreamSubset(t *testing.T) {
	repo := prerequisites(t)
	cmd := exec.CommandContext(t.Context(), filepath.Join(repo, "hack", "test-upstream.sh"), "ci")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "HELM="+filepath.Join(repo, "bin", "helm"))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("hack/test-upstream.sh ci: %v (reports and summary under %s)", err, filepath.Join(repo, "bin", "e2e-upstream"))
	}
}

// prerequisites checks what the run needs and returns the repository.
func prerequisites(t *testing.T) string {
	t.Helper()
	prereq.Root(t)
	prereq.Commands(t, "runc", "nsenter", "unshare", "ip", "nft", "mkfs.xfs", "losetup")
	repo, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(repo, "bin")
	for _, p := range []string{"k8s/kubelet", "k8s/kube-proxy", "k8s/kubectl", "node/containerd", "pause", "helm"} {
		_, err := os.Stat(filepath.Join(bin, p))
		prereq.Require(t, err == nil, "%s (run `make e2e-deps helm`)", filepath.Join(bin, p))
	}
	for _, p := range []string{"e2e/e2e.test", "e2e/ginkgo", "images/agnhost.tar", "images/e2e-shell.tar"} {
		_, err := os.Stat(filepath.Join(bin, p))
		prereq.Require(t, err == nil, "%s (run `make e2e-bins upstream-images`)", filepath.Join(bin, p))
	}
	_, err = devcluster.Images(bin)
	prereq.Require(t, err == nil, "%v", err)
	return repo
}
