// Package todo is the ToDo domain: the Todo type and its validation rules, the error model shared by
// every adapter, time-ordered IDs, the Store port and the Service that the HTTP handler calls.
//
// It imports no AWS SDK, no SQL driver and no HTTP server; adapters live in sub-packages
// (mysqlstore for Aurora MySQL / MariaDB, memstore for tests and benchmarks).
package todo
