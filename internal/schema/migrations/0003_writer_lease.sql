-- The writer lease as this region's database knows it (see internal/lease), in one row, id = 1.
-- Only the lease renewer of the region holding the lease writes it, on every renewal:
-- fence_until is when the API must stop acknowledging writes (the lease's expiry less the
-- clock-skew margin, counted by this server's own clock), and every API write transaction reads
-- it first. heartbeat_at is stamped by the same renewal and replicates with the data, so that the
-- standby's copy says how far behind it is: writes after its heartbeat_at may be lost.
-- The row starts with the fence closed: nothing is acknowledged until a renewer holds the lease.
CREATE TABLE IF NOT EXISTS writer_lease (
    id           TINYINT UNSIGNED NOT NULL,
    holder       VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    epoch        BIGINT UNSIGNED NOT NULL,
    fence_until  DATETIME(6) NOT NULL,
    heartbeat_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id)
) ENGINE = InnoDB;
INSERT IGNORE INTO writer_lease (id, holder, epoch, fence_until, heartbeat_at)
    VALUES (1, '', 0, '1970-01-02 00:00:00', '1970-01-02 00:00:00');
