-- Todos, keyed by UUIDv7 text: ordering by id is ordering by creation, which keyset pagination uses.
CREATE TABLE IF NOT EXISTS todos (
    id         CHAR(36)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    task       VARCHAR(500) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    status     ENUM('todo', 'wip', 'done') NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    updated_at DATETIME(6)  NOT NULL,
    version    BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (id),
    KEY todos_status_id (status, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
