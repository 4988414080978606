// Command lambdahost runs Switchyard's Lambda functions locally, from their real `bootstrap`
// binaries, without Docker (see internal/local/lambdahost).
//
//	lambdahost run    [-addr 127.0.0.1:3000] [flags]   private MariaDB behind a local RDS Proxy, migrations, the ToDo API (make run)
//	lambdahost invoke -function FN -event FILE [flags]  one invocation; prints the response (make invoke)
//	lambdahost serve  [-addr 127.0.0.1:3000] [flags]   every template function behind the HTTP and Invoke APIs
//
// Functions, routes, timeouts, memory sizes and literal environment variables come from
// template.yaml; binaries from .build/local/<function>/bootstrap (`make build-local`). Values the
// template computes in AWS (endpoints, secrets) come from a local overrides file (-config, or
// $LAMBDAHOST_CONFIG when the flag is absent, so `LAMBDAHOST_CONFIG=local.json make invoke ...`
// works) and -env flags, which win over the template in that order:
//
//	{
//	  "region": "us-east-1",
//	  "accountId": "123456789012",
//	  "functions": {
//	    "todo-api": {
//	      "env": {"DB_AUTH": "dsn", "DB_DSN": "todo_app:secret@tcp(127.0.0.1:3306)/switchyard?parseTime=true",
//	              "CURSOR_KEY": "at least 32 random characters, e.g. openssl rand -base64 32"},
//	      "timeout": "8s",
//	      "memoryMB": 256,
//	      "concurrency": 4,
//	      "binary": ".build/local/todo-api/bootstrap"
//	    }
//	  }
//	}
//
// Every field is optional. -env KEY=VALUE (repeatable) applies to every function the command runs.
package main
