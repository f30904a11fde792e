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
	"flag"
	"fmt"
	"os"

	"github.com/plinth-dev/plinth/csi-driver/hostmount"
)

// prepareHost is `plinth-node prepare-host`, the node pod's first init
// container: it makes the pool directory a shared mount in the host's mount
// namespace, which the Bidirectional mount of the pool needs.
func prepareHost(args []string) int {
	fs := flag.NewFlagSet("prepare-host", flag.ContinueOnError)
	poolDir := fs.String("pool-dir", "/var/lib/plinth/pool", "The pool directory on the host.")
	hostNS := fs.String("host-mount-namespace", hostmount.DefaultHostMountNS, "The host's mount namespace (the host's /proc/1/ns/mnt).")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	res, err := hostmount.EnsureShared(*hostNS, *poolDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "prepare-host: %v\n"+
			"prepare-host: plinth-node mounts %s with Bidirectional propagation, which needs a shared mount on the host;\n"+
			"prepare-host: make it one yourself (mount --bind %s %s && mount --make-shared %s) or fix the error above\n",
			err, *poolDir, *poolDir, *poolDir, *poolDir)
		return 1
	}
	switch {
	case res.Bound:
		fmt.Printf("%s: bind-mounted onto itself and made shared\n", *poolDir)
	case res.MadeShared:
		fmt.Printf("%s: mount %s made shared\n", *poolDir, res.MountPoint)
	default:
		fmt.Printf("%s: already on shared mount %s\n", *poolDir, res.MountPoint)
	}
	return 0
}
