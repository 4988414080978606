package memstore_test

import (
	"testing"

	"github.com/switchyard-dr/switchyard/internal/local/todostoretest"
	"github.com/switchyard-dr/switchyard/internal/todo"
	"github.com/switchyard-dr/switchyard/internal/todo/memstore"
)

// The todo.Store contract on the in-memory store; mysqlstore runs the same one.
func TestStoreContract(t *testing.T) {
	todostoretest.Contract(t, func(*testing.T) todo.Store { return memstore.New() })
}
