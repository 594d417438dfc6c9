// image-tool writes a container image as a tarball that `ctr images import` loads, from a layer tarball
// made on this machine: the local stack has no registry and no Docker, so its images (pause, busybox, the
// test app) are assembled here with go-containerregistry, a well-kept library that writes the manifest and
// config digests correctly, instead of a hand-written OCI layout.
//
//	image-tool -layer layer.tar -tag kubeferry.local/test-app:1 -out image.tar \
//	  -entrypoint '["/usr/local/bin/node","/app/server.ts"]' -env PATH=/bin -workdir /app -user 65532
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	layer := flag.String("layer", "", "an uncompressed tar of the image's files (its only layer)")
	tag := flag.String("tag", "", "the image's reference, e.g. kubeferry.local/busybox:1.35.0")
	out := flag.String("out", "", "where to write the image tarball")
	entrypoint := flag.String("entrypoint", "", "the entrypoint, as a JSON array")
	cmd := flag.String("cmd", "", "the command, as a JSON array")
	workdir := flag.String("workdir", "", "the working directory")
	user := flag.String("user", "", "the user (uid[:gid])")
	var env list
	flag.Var(&env, "env", "NAME=value (repeatable)")
	flag.Parse()
	if *layer == "" || *tag == "" || *out == "" {
		fail("usage: image-tool -layer FILE -tag REF -out FILE [-entrypoint JSON] [-cmd JSON] [-env K=V]... [-workdir DIR] [-user UID]")
	}
	ref, err := name.NewTag(*tag)
	check(err, "image reference "+*tag)
	l, err := tarball.LayerFromFile(*layer)
	check(err, "layer "+*layer)
	img, err := mutate.AppendLayers(empty.Image, l)
	check(err, "adding the layer")
	cf, err := img.ConfigFile()
	check(err, "reading the config")
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = v1.Config{Env: env, WorkingDir: *workdir, User: *user, Entrypoint: jsonList(*entrypoint), Cmd: jsonList(*cmd)}
	img, err = mutate.ConfigFile(img, cf)
	check(err, "writing the config")
	check(tarball.WriteToFile(*out, ref, img), "writing "+*out)
	digest, err := img.Digest()
	check(err, "digest")
	fmt.Printf("%s %s\n", ref, digest)
}

func jsonList(s string) []string {
	if s == "" {
		return nil
	}
	var v []string
	check(json.Unmarshal([]byte(s), &v), "JSON array "+s)
	return v
}

func check(err error, what string) {
	if err != nil {
		fail(fmt.Sprintf("%s: %v", what, err))
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "image-tool: "+msg)
	os.Exit(1)
}
