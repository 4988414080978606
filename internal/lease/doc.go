// Package lease is the writer lease: the right to acknowledge writes, granted by a majority of three
// grantors (one store in each region and a witness in a third region), renewed every few seconds by
// the writer region, and carried into the writer's own database as a fence that every write
// transaction checks (see internal/todo/mysqlstore). A region that cannot renew stops acknowledging
// writes before its lease expires, so a standby that takes the lease after it expired (plus a
// clock-skew margin) is the only writer even when the old one is alive and reachable by clients.
//
// Each grantor is a record {holder, epoch, expires, since, released} changed only by conditional
// writes: a renewal needs the same holder and epoch; a takeover needs a higher epoch and a record
// that was released or expired more than the margin ago. Two contenders can therefore never both
// hold a majority for one epoch, and the epoch, which only grows, is the fencing token that side
// effects (promotion, traffic changes) carry.
//
// This package holds the rules and timings only; adapters (dynamolease for the grantors, leasedb
// for the database fence and heartbeat) do the I/O.
package lease
