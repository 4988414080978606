// Command migrate is the Lambda function that applies the schema migrations: invoked directly with
// {"action":"migrate"} or as a CloudFormation custom resource.
//
// Nothing that can fail runs before lambda.Start: a configuration error, an unreadable secret or an
// unreachable database is reported by the handler (a FAILED custom resource response), never by an
// exit during init that would leave CloudFormation waiting.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/schema/migratehandler"
)

func main() {
	cfg, err := config.MigrateFromEnv()
	h := migratehandler.Deferred(migratehandler.Connect(cfg, err), migratehandler.NewResponder(cfg.Responses), lambdacontext.NewLogger())
	lambda.Start(h.Handle)
}
