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
	"github.com/plinth-dev/plinth/internal/version"
)

func main() {
	log := funcr.New(func(prefix, args string) {
		fmt.Fprintln(os.Stderr, prefix, args)
	}, funcr.Options{})
	p := &plugin.Plugin{Log: log.WithName("plinth-cni")}
	skel.PluginMainFuncs(p.Funcs(), plugin.VersionInfo(), plugin.About+" "+version.Version)
}
