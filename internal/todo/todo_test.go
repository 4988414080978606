package todo_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/todo"
	"github.com/switchyard-dr/switchyard/internal/todo/memstore"
)

func TestParseTask(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"trimmed", "  buy milk \n", "buy milk", false},
		{"empty", "", "", true},
		{"only spaces", " \t\n ", "", true},
		{"500 characters", strings.Repeat("é", 500), strings.Repeat("é", 500), false},
		{"501 characters", strings.Repeat("é", 501), "", true},
		{"501 with spaces trims to 500", " " + strings.Repeat("a", 500), strings.Repeat("a", 500), false},
		{"invalid UTF-8", "bad \xff byte", "", true},
		{"emoji counts as one", strings.Repeat("🚀", 500), strings.Repeat("🚀", 500), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := todo.ParseTask(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseTask err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseTask = %q, want %q", got, tt.want)
			}
			if err != nil {
				var e *todo.Error
				if !errors.As(err, &e) || e.Code != todo.EINVALID || e.Field != "task" {
					t.Errorf("error = %#v, want EINVALID on field task", err)
				}
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	for _, s := range []string{"todo", "wip", "done"} {
		if got, err := todo.ParseStatus(s); err != nil || string(got) != s {
			t.Errorf("ParseStatus(%q) = %q, %v; want %q, nil", s, got, err, s)
		}
	}
	for _, s := range []string{"", "TODO", "doing", "done "} {
		if _, err := todo.ParseStatus(s); todo.ErrorCode(err) != todo.EINVALID {
			t.Errorf("ParseStatus(%q) code = %q, want %q", s, todo.ErrorCode(err), todo.EINVALID)
		}
	}
}

func TestIDsAreUUIDv7InCreationOrder(t *testing.T) {
	var g todo.IDGenerator
	base := time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 10000 {
		// Same millisecond many times, and a clock stepping back once.
		now := base.Add(time.Duration(i/3000) * time.Millisecond)
		if i == 9000 {
			now = base
		}
		ids = append(ids, g.New(now))
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("IDs are not in creation order")
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("duplicate ID %s", id)
		}
		seen[id] = true
		b, err := todo.ParseID(id)
		if err != nil {
			t.Fatalf("ParseID(%s): %v", id, err)
		}
		if b[6]>>4 != 7 {
			t.Errorf("%s: version nibble %x, want 7", id, b[6]>>4)
		}
		if b[8]>>6 != 2 {
			t.Errorf("%s: variant bits %b, want 10", id, b[8]>>6)
		}
	}
	first, _ := todo.ParseID(ids[0])
	ms := int64(first[0])<<40 | int64(first[1])<<32 | int64(first[2])<<24 | int64(first[3])<<16 | int64(first[4])<<8 | int64(first[5])
	if ms != base.UnixMilli() {
		t.Errorf("timestamp field = %d, want %d", ms, base.UnixMilli())
	}
}

func TestParseIDRejects(t *testing.T) {
	for _, id := range []string{"", "1", "01890A5D-AC96-774B-BCCE-B302099A8057", "01890a5d-ac96-774b-bcce-b302099a805", "01890a5dxac96-774b-bcce-b302099a8057", "01890a5d-ac96-774b-bcce-b302099a805g"} {
		if _, err := todo.ParseID(id); todo.ErrorCode(err) != todo.EINVALID {
			t.Errorf("ParseID(%q) code = %q, want %q", id, todo.ErrorCode(err), todo.EINVALID)
		}
	}
}

func TestErrorCode(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("boom"), todo.EINTERNAL},
		{todo.Errorf(todo.ENOTFOUND, "x"), todo.ENOTFOUND},
		{todo.Wrap(todo.ENOTWRITER, errors.New("1290"), "create"), todo.ENOTWRITER},
	}
	for _, tt := range tests {
		if got := todo.ErrorCode(tt.err); got != tt.want {
			t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func newService(t *testing.T) (*todo.Service, *memstore.Store) {
	t.Helper()
	s := memstore.New()
	return todo.NewService(s, testCursorKey), s
}

var testCursorKey = []byte("test cursor key, 32 bytes long!!")

func TestListPagesThroughEverythingOnce(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	var want []string
	for i := range 45 {
		st := todo.StatusTodo
		if i%3 == 0 {
			st = todo.StatusDone
		}
		td, _, err := svc.Create(ctx, todo.NewTodo{Task: "task", Status: st}, "")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, td.ID)
	}
	for _, tt := range []struct {
		name   string
		status string
		limit  int
		want   int
	}{
		{"all, pages of 20", "", 0, 45},
		{"all, pages of 7", "", 7, 45},
		{"done only", "done", 4, 15},
		{"exact multiple", "", 15, 45},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 50 {
					t.Fatal("pagination does not end")
				}
				p, err := svc.List(ctx, todo.ListInput{Limit: tt.limit, Cursor: cursor, Status: tt.status})
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range p.Items {
					got = append(got, it.ID)
				}
				if p.NextCursor == "" {
					break
				}
				cursor = p.NextCursor
			}
			if len(got) != tt.want {
				t.Fatalf("listed %d todos, want %d", len(got), tt.want)
			}
			if !sort.StringsAreSorted(got) {
				t.Error("items not in creation order")
			}
			if tt.status == "" && strings.Join(got, ",") != strings.Join(want, ",") {
				t.Error("listed IDs differ from created IDs")
			}
		})
	}
}

func TestListRejectsBadInput(t *testing.T) {
	svc, _ := newService(t)
	for _, tt := range []struct {
		in    todo.ListInput
		field string
	}{
		{todo.ListInput{Limit: 101}, "limit"},
		{todo.ListInput{Limit: -1}, "limit"},
		{todo.ListInput{Status: "later"}, "status"},
		{todo.ListInput{Cursor: "not-a-cursor!"}, "cursor"},
		{todo.ListInput{Cursor: "AAAA"}, "cursor"},
	} {
		_, err := svc.List(context.Background(), tt.in)
		var e *todo.Error
		if !errors.As(err, &e) || e.Code != todo.EINVALID || e.Field != tt.field {
			t.Errorf("List(%+v) = %v, want EINVALID on %s", tt.in, err, tt.field)
		}
	}
}

// A cursor resumes only where the API left off, for the query it was issued for: anything else a
// client could send (a bare ID, a forged or edited MAC, another key's cursor, another spelling of the
// same bytes, a cursor from another status filter) is refused.
func TestCursorsAreAuthenticated(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	for range 5 {
		if _, _, err := svc.Create(ctx, todo.NewTodo{Task: "task", Status: todo.StatusDone}, ""); err != nil {
			t.Fatal(err)
		}
	}
	page, err := svc.List(ctx, todo.ListInput{Limit: 2})
	if err != nil || page.NextCursor == "" {
		t.Fatalf("first page: %v, cursor %q", err, page.NextCursor)
	}
	good := page.NextCursor
	raw, err := base64.RawURLEncoding.DecodeString(good)
	if err != nil || len(raw) != 32 {
		t.Fatalf("cursor %q: %v, %d bytes; want 32 (ID and MAC)", good, err, len(raw))
	}
	if next, err := svc.List(ctx, todo.ListInput{Limit: 2, Cursor: good}); err != nil || next.Items[0].ID <= page.Items[1].ID {
		t.Fatalf("List with the cursor handed out = %+v, %v; want the next page", next, err)
	}
	flipped := bytes.Clone(raw)
	flipped[31] ^= 1
	idEdited := bytes.Clone(raw)
	idEdited[15] ^= 1
	otherKey := todo.NewService(memstore.New(), []byte("another key, also 32 bytes long!"))
	other := todo.ListInput{Limit: 2}
	for range 5 {
		otherKey.Create(ctx, todo.NewTodo{Task: "x"}, "")
	}
	otherPage, _ := otherKey.List(ctx, other)
	// Base64 of 32 bytes leaves 2 padding bits; setting one spells the same bytes differently.
	last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", good[len(good)-1])
	respelled := good[:len(good)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last|1])
	for _, tt := range []struct {
		name   string
		cursor string
		status string
	}{
		{"bare 16-byte ID", base64.RawURLEncoding.EncodeToString(raw[:16]), ""},
		{"MAC edited", base64.RawURLEncoding.EncodeToString(flipped), ""},
		{"ID edited", base64.RawURLEncoding.EncodeToString(idEdited), ""},
		{"MAC cut short", base64.RawURLEncoding.EncodeToString(raw[:31]), ""},
		{"extra byte", base64.RawURLEncoding.EncodeToString(append(bytes.Clone(raw), 0)), ""},
		{"padded", base64.URLEncoding.EncodeToString(raw), ""},
		{"standard alphabet", base64.StdEncoding.EncodeToString(raw), ""},
		{"non-canonical padding bits", respelled, ""},
		{"issued by another key", otherPage.NextCursor, ""},
		{"issued for another status filter", good, "done"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cursor == good && tt.status == "" {
				t.Fatal("the case does not change the cursor")
			}
			_, err := svc.List(ctx, todo.ListInput{Limit: 2, Cursor: tt.cursor, Status: tt.status})
			var e *todo.Error
			if !errors.As(err, &e) || e.Code != todo.EINVALID || e.Field != "cursor" {
				t.Errorf("List with cursor %q = %v, want EINVALID on cursor", tt.cursor, err)
			}
		})
	}
}

func TestCreateIdempotency(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	first, replayed, err := svc.Create(ctx, todo.NewTodo{Task: "pay rent"}, "key-1")
	if err != nil || replayed {
		t.Fatalf("first Create = %v, replayed %v", err, replayed)
	}
	again, replayed, err := svc.Create(ctx, todo.NewTodo{Task: "  pay rent ", Status: todo.StatusTodo}, "key-1")
	if err != nil || !replayed || again != first {
		t.Fatalf("replay = %+v, %v, %v; want %+v, true, nil", again, replayed, err, first)
	}
	if _, _, err := svc.Create(ctx, todo.NewTodo{Task: "pay more rent"}, "key-1"); todo.ErrorCode(err) != todo.EIDEMPOTENCY {
		t.Errorf("different body: code %q, want %q", todo.ErrorCode(err), todo.EIDEMPOTENCY)
	}
	if _, _, err := svc.Create(ctx, todo.NewTodo{Task: "x"}, "bad key"); todo.ErrorCode(err) != todo.EINVALID {
		t.Errorf("key with a space: code %q, want %q", todo.ErrorCode(err), todo.EINVALID)
	}
	if _, _, err := svc.Create(ctx, todo.NewTodo{Task: "x"}, strings.Repeat("k", 256)); todo.ErrorCode(err) != todo.EINVALID {
		t.Errorf("256-byte key: code %q, want %q", todo.ErrorCode(err), todo.EINVALID)
	}
	page, _ := svc.List(ctx, todo.ListInput{})
	if len(page.Items) != 1 {
		t.Errorf("%d todos stored, want 1", len(page.Items))
	}
}

func TestChangesHonourPreconditions(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	td, _, err := svc.Create(ctx, todo.NewTodo{Task: "write tests"}, "")
	if err != nil {
		t.Fatal(err)
	}
	wip := todo.StatusWIP
	got, err := svc.Patch(ctx, td.ID, todo.Patch{Status: &wip}, todo.Precondition{Versions: []int64{1}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.Status != todo.StatusWIP || got.Task != "write tests" {
		t.Errorf("after patch: %+v, want version 2, wip, same task", got)
	}
	if !got.UpdatedAt.After(td.UpdatedAt) && !got.UpdatedAt.Equal(td.UpdatedAt) {
		t.Errorf("updatedAt went back: %v < %v", got.UpdatedAt, td.UpdatedAt)
	}
	if _, err := svc.Replace(ctx, td.ID, todo.NewTodo{Task: "x", Status: todo.StatusDone}, todo.Precondition{Versions: []int64{1}}); todo.ErrorCode(err) != todo.EPRECONDITION {
		t.Errorf("stale If-Match: code %q, want %q", todo.ErrorCode(err), todo.EPRECONDITION)
	}
	if _, err := svc.Replace(ctx, td.ID, todo.NewTodo{Task: "x", Status: todo.StatusDone}, todo.Precondition{Versions: []int64{7, 2}}); err != nil {
		t.Errorf("If-Match list holding the version: %v", err)
	}
	if err := svc.Delete(ctx, td.ID, todo.Precondition{Versions: []int64{2}}); todo.ErrorCode(err) != todo.EPRECONDITION {
		t.Errorf("delete with stale If-Match: code %q, want %q", todo.ErrorCode(err), todo.EPRECONDITION)
	}
	if err := svc.Delete(ctx, td.ID, todo.Precondition{Versions: []int64{3}}); err != nil {
		t.Errorf("delete at current version: %v", err)
	}
	if _, err := svc.Get(ctx, td.ID); todo.ErrorCode(err) != todo.ENOTFOUND {
		t.Errorf("get after delete: code %q, want %q", todo.ErrorCode(err), todo.ENOTFOUND)
	}
	if err := svc.Delete(ctx, td.ID, todo.Precondition{}); todo.ErrorCode(err) != todo.ENOTFOUND {
		t.Errorf("delete twice: code %q, want %q", todo.ErrorCode(err), todo.ENOTFOUND)
	}
	bad := todo.Status("later")
	if _, err := svc.Patch(ctx, td.ID, todo.Patch{Status: &bad}, todo.Precondition{}); todo.ErrorCode(err) != todo.EINVALID {
		t.Errorf("patch with bad status: code %q, want %q", todo.ErrorCode(err), todo.EINVALID)
	}
}

func TestWritesOnReaderAreRefused(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	td, _, _ := svc.Create(ctx, todo.NewTodo{Task: "before failover"}, "")
	store.SetRole(todo.RoleReader)
	if _, _, err := svc.Create(ctx, todo.NewTodo{Task: "x"}, ""); todo.ErrorCode(err) != todo.ENOTWRITER {
		t.Errorf("create on reader: code %q, want %q", todo.ErrorCode(err), todo.ENOTWRITER)
	}
	if _, err := svc.Replace(ctx, td.ID, todo.NewTodo{Task: "x"}, todo.Precondition{}); todo.ErrorCode(err) != todo.ENOTWRITER {
		t.Errorf("replace on reader: code %q, want %q", todo.ErrorCode(err), todo.ENOTWRITER)
	}
	if got, err := svc.Get(ctx, td.ID); err != nil || got != td {
		t.Errorf("get on reader = %+v, %v; want %+v", got, err, td)
	}
	if role, _ := svc.Role(ctx); role != todo.RoleReader {
		t.Errorf("role = %q, want reader", role)
	}
}
