// Command edgebundle builds the Lambda@Edge bundle of the edge rewrite: the Go handler compiled to
// WebAssembly plus its Node.js 22 loader, as the directory template.yaml's CodeUri names and as a zip.
//
//	go run ./cmd/edgebundle -out .build/edge-rewrite-edge
//
// writes DIR/index.mjs, DIR/package.json, DIR/edge-rewrite.wasm and DIR.zip, and prints their sizes.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
)

func main() {
	out := flag.String("out", "", "bundle directory to write (DIR.zip is written beside it)")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: edgebundle -out DIR   (for example -out .build/edge-rewrite-edge)")
		os.Exit(2)
	}
	root, err := devtools.Root()
	if err != nil {
		fmt.Fprintln(os.Stderr, "edgebundle:", err)
		os.Exit(1)
	}
	sizes, err := Build(context.Background(), root, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "edgebundle:", err)
		os.Exit(1)
	}
	fmt.Println(sizes)
}
