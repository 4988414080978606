// Package qualitygate holds the gates `make test` and CI apply beside the tests themselves, and the
// tests that they can fail: the vulnerability scan (a seeded finding must fail it) and the mutation
// floors (gremlins' own threshold flag does not fail a run in v0.6.0, so the floor is checked here,
// on gremlins' JSON report).
//
// Nothing deployed imports it.
package qualitygate
