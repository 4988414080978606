// Command initfail is a test function whose init fails, as a function missing its configuration does.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	if os.Getenv("REQUIRED_SETTING") == "" {
		fmt.Fprintln(os.Stderr, "initfail: REQUIRED_SETTING is not set")
		os.Exit(3)
	}
	lambda.Start(func() (string, error) { return "configured", nil })
}
