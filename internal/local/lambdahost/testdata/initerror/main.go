// Command initerror is a test runtime that reports its init failure through the Runtime API's
// /init/error, as custom runtimes do, instead of only exiting.
package main

import (
	"net/http"
	"os"
	"strings"
)

func main() {
	req, err := http.NewRequest("POST", "http://"+os.Getenv("AWS_LAMBDA_RUNTIME_API")+"/2018-06-01/runtime/init/error",
		strings.NewReader(`{"errorMessage":"TABLE_NAME is not set","errorType":"ConfigError"}`))
	if err != nil {
		os.Exit(2)
	}
	req.Header.Set("Lambda-Runtime-Function-Error-Type", "ConfigError")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		os.Exit(3)
	}
	os.Exit(1)
}
