// Command edge-rewrite is the edge host rewrite as a native Go Lambda, for sam local invoke, tests and
// the local edge proxy. Lambda@Edge itself runs the same code as WebAssembly (see ./wasm and ./loader).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/switchyard-dr/switchyard/internal/edge"
)

func main() {
	lambda.Start(edge.Handle)
}
