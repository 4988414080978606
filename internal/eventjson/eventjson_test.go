package eventjson_test

import (
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/eventjson"
)

func TestUnmarshal(t *testing.T) {
	type inner struct {
		Action string `json:"action"`
	}
	type event struct {
		Region string  `json:"region"`
		Items  []inner `json:"items"`
	}
	tests := []struct {
		name, in, wantErr string
		want              event
	}{
		{name: "plain", in: `{"region":"b","items":[{"action":"x"}]}`, want: event{Region: "b", Items: []inner{{Action: "x"}}}},
		{name: "same key in sibling objects is fine", in: `{"items":[{"action":"x"},{"action":"y"}]}`, want: event{Items: []inner{{Action: "x"}, {Action: "y"}}}},
		{name: "duplicate at top", in: `{"region":"a","region":"b"}`, wantErr: `at the top level has the key "region" twice`},
		{name: "duplicate nested", in: `{"items":[{"action":"switchover","action":"failover"}]}`, wantErr: `at items[0] has the key "action" twice`},
		{name: "invalid UTF-8", in: "{\"region\":\"\xff\"}", wantErr: "not valid UTF-8"},
		{name: "trailing data", in: `{"region":"a"} {}`, wantErr: "data after the top-level value"},
		{name: "truncated", in: `{"region":`, wantErr: "malformed"},
		{name: "empty", in: ``, wantErr: "malformed"},
		{name: "type mismatch still reported", in: `{"region":5}`, wantErr: "cannot unmarshal number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got event
			err := eventjson.Unmarshal([]byte(tt.in), &got)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Region != tt.want.Region || len(got.Items) != len(tt.want.Items) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			for i := range got.Items {
				if got.Items[i] != tt.want.Items[i] {
					t.Errorf("item %d: got %+v, want %+v", i, got.Items[i], tt.want.Items[i])
				}
			}
		})
	}
}
