// Command httpecho is a test function for the HTTP API emulation: it answers with the event it got.
package main

import (
	"encoding/base64"
	"encoding/json"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	switch ev.QueryStringParameters["reply"] {
	case "binary":
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, IsBase64Encoded: true,
			Headers: map[string]string{"Content-Type": "application/octet-stream"},
			Body:    base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255})}, nil
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	status := 200
	if s, err := strconv.Atoi(ev.QueryStringParameters["status"]); err == nil {
		status = s
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json", "X-Route": ev.RouteKey},
		Cookies:    []string{"session=abc; HttpOnly", "theme=dark"},
		Body:       string(b),
	}, nil
}

func main() { lambda.Start(handle) }
