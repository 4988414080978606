// Package qualitygate holds the tests of the gates `make test` and CI apply beside the tests
// themselves (the vulnerability scan, the mutation floors): a gate that cannot fail guards nothing,
// so each is run here against a case it must refuse.
//
// Nothing deployed imports it; it has no code of its own.
package qualitygate
