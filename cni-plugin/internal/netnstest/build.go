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
