// Command edge-rewrite is the edge origin-request handler as a native Go Lambda, for sam local invoke,
// tests and the local edge proxy. Lambda@Edge itself runs the same code as WebAssembly (see ./wasm
// and ./loader), where the Node.js loader does the signal lookup this binary does with Go's resolver.
package main

import (
	"net"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/switchyard-dr/switchyard/internal/edge"
)

func main() {
	h := &edge.Handler{Signals: &edge.SignalCache{Lookup: net.DefaultResolver.LookupTXT}}
	lambda.Start(h.Handle)
}
