// Command etcd is etcd's own server entry point, built from go.etcd.io/etcd/server/v3
// (etcd's main module carries replace directives, so it cannot be installed directly).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
