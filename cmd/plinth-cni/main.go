// Command plinth-cni is the Plinth CNI plugin binary executed by the
// container runtime. All logic lives in cni-plugin/plugin; stdout carries
// only CNI results, so diagnostics go to stderr.
package main

import (
	"fmt"
	"os"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/go-logr/logr/funcr"

	"github.com/plinth-dev/plinth/cni-plugin/plugin"
)

func main() {
	log := funcr.New(func(prefix, args string) {
		fmt.Fprintln(os.Stderr, prefix, args)
	}, funcr.Options{})
	p := &plugin.Plugin{Log: log.WithName("plinth-cni")}
	skel.PluginMainFuncs(p.Funcs(), plugin.VersionInfo(), plugin.About)
}
