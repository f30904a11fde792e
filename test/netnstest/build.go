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
	"fmt"
	"os/exec"
	"path/filepath"
)

// PluginPackage is the import path of the plinth-cni command.
const PluginPackage = "github.com/plinth-dev/plinth/cmd/plinth-cni"

// LoopbackPackage is the import path of the reference loopback plugin,
// which runtimes call for every pod's lo.
const LoopbackPackage = "github.com/containernetworking/plugins/plugins/main/loopback"

// BuildBinary builds the command pkg into dir and returns the binary's path,
// so that tests can execute it the way a container runtime does.
func BuildBinary(dir, pkg string) (string, error) {
	out := filepath.Join(dir, filepath.Base(pkg))
	if msg, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
		return "", fmt.Errorf("failed to build %s: %w: %s", pkg, err, msg)
	}
	return out, nil
}
