package cbor

import (
	"encoding/hex"
	"math"
	"reflect"
	"testing"
	"time"
)

// Vectors from RFC 8949 Appendix A, plus the shapes the Smithy RPC v2 CBOR protocol sends.
func TestDecode(t *testing.T) {
	tests := []struct {
		hex  string
		want any
	}{
		{"00", uint64(0)},
		{"17", uint64(23)},
		{"1818", uint64(24)},
		{"1903e8", uint64(1000)},
		{"1a000f4240", uint64(1000000)},
		{"1b000000e8d4a51000", uint64(1000000000000)},
		{"20", int64(-1)},
		{"3903e7", int64(-1000)},
		{"f93c00", 1.0},
		{"f9c400", -4.0},
		{"f90001", 5.960464477539063e-8},
		{"fa47c35000", 100000.0},
		{"fb3ff199999999999a", 1.1},
		{"f4", false},
		{"f5", true},
		{"f6", nil},
		{"40", []byte{}},
		{"4401020304", []byte{1, 2, 3, 4}},
		{"60", ""},
		{"6449455446", "IETF"},
		{"62c3bc", "ü"},
		{"80", []any{}},
		{"83010203", []any{uint64(1), uint64(2), uint64(3)}},
		{"a26161016162820203", map[string]any{"a": uint64(1), "b": []any{uint64(2), uint64(3)}}},
		{"5f42010243030405ff", []byte{1, 2, 3, 4, 5}},
		{"7f657374726561646d696e67ff", "streaming"},
		{"9f018202039f0405ffff", []any{uint64(1), []any{uint64(2), uint64(3)}, []any{uint64(4), uint64(5)}}},
		{"bf6346756ef563416d7421ff", map[string]any{"Fun": true, "Amt": int64(-2)}},
		{"c11a514b67b0", time.Unix(1363896240, 0).UTC()},
		{"c1fb41d452d9ec200000", time.Unix(1363896240, 500000000).UTC()},
	}
	for _, tt := range tests {
		t.Run(tt.hex, func(t *testing.T) {
			b, _ := hex.DecodeString(tt.hex)
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDecodeSpecialFloats(t *testing.T) {
	for h, check := range map[string]func(float64) bool{
		"f97c00":             func(f float64) bool { return math.IsInf(f, 1) },
		"f97e00":             math.IsNaN,
		"fbfff0000000000000": func(f float64) bool { return math.IsInf(f, -1) },
	} {
		b, _ := hex.DecodeString(h)
		got, err := Decode(b)
		if f, ok := got.(float64); err != nil || !ok || !check(f) {
			t.Errorf("Decode(%s) = %v, %v", h, got, err)
		}
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	tests := map[string]string{
		"empty":                 "",
		"truncated uint":        "19",
		"truncated string":      "6449",
		"trailing bytes":        "0000",
		"non-text map key":      "a10102",
		"reserved info":         "1c",
		"unterminated array":    "9f01",
		"bad string chunk":      "5f01ff",
		"timestamp of a string": "c16161",
	}
	for name, h := range tests {
		t.Run(name, func(t *testing.T) {
			b, _ := hex.DecodeString(h)
			if v, err := Decode(b); err == nil {
				t.Errorf("Decode(%s) = %#v, want an error", h, v)
			}
		})
	}
}

func TestEncodeRoundTrips(t *testing.T) {
	ts := time.Date(2026, 11, 21, 5, 0, 0, 250_000_000, time.UTC)
	in := map[string]any{
		"Id":         "lag",
		"Values":     []float64{0, 1.5, -2},
		"Timestamps": []time.Time{ts},
		"Labels":     []string{"a", "b"},
		"Count":      uint64(7),
		"Neg":        int64(-300),
		"N":          70000,
		"Ok":         true,
		"Nothing":    nil,
		"Raw":        []byte{0xde, 0xad},
		"Nested":     []map[string]any{{"k": "v"}},
		"Any":        []any{"x", 1.25},
	}
	b, err := Encode(in)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode(Encode(x)): %v", err)
	}
	want := map[string]any{
		"Id":         "lag",
		"Values":     []any{0.0, 1.5, -2.0},
		"Timestamps": []any{ts},
		"Labels":     []any{"a", "b"},
		"Count":      uint64(7),
		"Neg":        int64(-300),
		"N":          uint64(70000),
		"Ok":         true,
		"Nothing":    nil,
		"Raw":        []byte{0xde, 0xad},
		"Nested":     []any{map[string]any{"k": "v"}},
		"Any":        []any{"x", 1.25},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip = %#v\nwant %#v", got, want)
	}
	again, _ := Encode(in)
	if string(again) != string(b) {
		t.Error("encoding the same map twice gave different bytes")
	}
}

func TestEncodeHeads(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{uint64(23), "17"},
		{uint64(24), "1818"},
		{uint64(1000), "1903e8"},
		{uint64(1000000), "1a000f4240"},
		{uint64(1000000000000), "1b000000e8d4a51000"},
		{-1000, "3903e7"},
		{"IETF", "6449455446"},
		{1.1, "fb3ff199999999999a"},
	}
	for _, tt := range tests {
		got, err := Encode(tt.v)
		if err != nil || hex.EncodeToString(got) != tt.want {
			t.Errorf("Encode(%v) = %x, %v; want %s", tt.v, got, err, tt.want)
		}
	}
	if _, err := Encode(struct{}{}); err == nil {
		t.Error("Encode(struct{}{}) succeeded, want an error for an unsupported type")
	}
}

func FuzzDecode(f *testing.F) {
	for _, h := range []string{"a26161016162820203", "bf6346756ef563416d7421ff", "c1fb41d452d9ec200000", "5f42010243030405ff"} {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Decode(b)
		if err != nil {
			return
		}
		if _, err := Encode(v); err != nil {
			t.Errorf("decoded %#v but cannot encode it: %v", v, err)
		}
	})
}

func BenchmarkDecodeMetricData(b *testing.B) {
	now := time.Now()
	datum := map[string]any{"MetricName": "PeerHealthy", "Value": 1.0, "Unit": "Count", "Timestamp": now,
		"Dimensions": []any{map[string]any{"Name": "Peer", "Value": "us-west-2"}}}
	msg, _ := Encode(map[string]any{"Namespace": "Switchyard/Prober", "MetricData": []any{datum, datum}})
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}
