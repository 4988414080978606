-- Idempotency-Key records, written in the same transaction as the todo they created. The key is
-- stored as its SHA-256; response is the first response's todo, replayed as is.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key_hash     BINARY(32)  NOT NULL,
    request_hash BINARY(32)  NOT NULL,
    response     MEDIUMBLOB  NOT NULL,
    expires_at   DATETIME(6) NOT NULL,
    PRIMARY KEY (key_hash),
    KEY idempotency_keys_expires_at (expires_at)
) ENGINE = InnoDB;
