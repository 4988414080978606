// Package rdsproxy is the local stand-in for Amazon RDS Proxy in front of one region's MariaDB. It
// speaks the MySQL protocol (github.com/go-mysql-org/go-mysql) on two endpoints, read/write and
// read-only, and refuses what RDS Proxy documents that it refuses, with RDS Proxy's errors:
//
//   - a client that does not start TLS: ERROR 3159 (HY000) "This RDS Proxy requires TLS connections";
//   - an IAM user whose token is not valid for this endpoint, user and region, is not signed with the
//     local credentials or is older than 15 minutes: ERROR 1045 (28000) "Access denied for user ...";
//   - the read/write endpoint while the target cluster has no writer (a global database's secondary):
//     "The target group doesn't have any associated read/write instances";
//   - a request that waited the borrow timeout for a backend connection (during a promotion, or while
//     the database cannot be reached): ERROR 9501 (HY000) "Timed-out waiting to acquire database
//     connection".
//
// Client connections are multiplexed over a pool of backend connections: a backend connection is
// borrowed per statement and held only for a transaction, or for the rest of the session once the
// session sets state the proxy cannot carry over (SET, prepared statements, locks, temporary tables):
// RDS Proxy's pinning. Stats counts both sides, so that "no new database connection per request" is
// measured. What the stand-in does not model is listed in the README.
//
// Nothing deployed imports it.
package rdsproxy
