// Command etcd is etcd's server, built from the go.etcd.io/etcd/server/v3 module for the kube test
// harness (hack/kube/build.sh); it does what etcd's own command does: hand the arguments to etcdmain.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
