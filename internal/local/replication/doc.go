// Package replication runs a pair of private MariaDB servers as the drill's two-region global
// database: one writer, one read-only GTID replica, and the three role changes an Aurora global
// cluster offers — a switchover that loses nothing, a failover that promotes at once and accepts
// the loss, and the resynchronisation of a returning old writer as the new replica.
//
// It works on internal/mariadb servers and is a local stand-in: nothing deployed imports it.
package replication
