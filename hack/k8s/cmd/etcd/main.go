// Command etcd is the etcd server, built from the Go module proxy at the
// version Kubernetes pins, for the local control plane in bin/k8s.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
