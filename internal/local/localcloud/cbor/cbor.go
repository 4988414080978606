// Package cbor encodes and decodes the subset of CBOR (RFC 8949) that the Smithy RPC v2 CBOR
// protocol uses: maps with text keys, arrays, text and byte strings, integers, floats, booleans,
// null and tag 1 (epoch-seconds timestamps).
//
// Decoded values are plain Go values: map[string]any, []any, string, []byte, uint64, int64,
// float64, bool, nil and time.Time. Encoding accepts the same kinds plus int, float32 and typed
// slices of strings, floats and times, so handlers can write responses without building []any.
package cbor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

const (
	majorUint   = 0
	majorNegInt = 1
	majorBytes  = 2
	majorText   = 3
	majorArray  = 4
	majorMap    = 5
	majorTag    = 6
	majorSimple = 7

	indefinite = 31
	breakByte  = 0xff
	tagEpoch   = 1
	maxDepth   = 64
)

// Decode parses exactly one CBOR data item from b.
func Decode(b []byte) (any, error) {
	d := decoder{b: b}
	v, err := d.item(0)
	if err != nil {
		return nil, err
	}
	if d.pos != len(d.b) {
		return nil, fmt.Errorf("cbor: %d trailing bytes after the first item", len(d.b)-d.pos)
	}
	return v, nil
}

type decoder struct {
	b   []byte
	pos int
}

var errShort = errors.New("cbor: unexpected end of input")

func (d *decoder) head() (major byte, info byte, arg uint64, err error) {
	if d.pos >= len(d.b) {
		return 0, 0, 0, errShort
	}
	c := d.b[d.pos]
	d.pos++
	major, info = c>>5, c&0x1f
	switch {
	case info < 24:
		return major, info, uint64(info), nil
	case info == 24:
		if d.pos+1 > len(d.b) {
			return 0, 0, 0, errShort
		}
		arg = uint64(d.b[d.pos])
		d.pos++
	case info == 25:
		if d.pos+2 > len(d.b) {
			return 0, 0, 0, errShort
		}
		arg = uint64(binary.BigEndian.Uint16(d.b[d.pos:]))
		d.pos += 2
	case info == 26:
		if d.pos+4 > len(d.b) {
			return 0, 0, 0, errShort
		}
		arg = uint64(binary.BigEndian.Uint32(d.b[d.pos:]))
		d.pos += 4
	case info == 27:
		if d.pos+8 > len(d.b) {
			return 0, 0, 0, errShort
		}
		arg = binary.BigEndian.Uint64(d.b[d.pos:])
		d.pos += 8
	case info == indefinite:
		return major, info, 0, nil
	default:
		return 0, 0, 0, fmt.Errorf("cbor: reserved additional information %d", info)
	}
	return major, info, arg, nil
}

func (d *decoder) atBreak() bool {
	return d.pos < len(d.b) && d.b[d.pos] == breakByte
}

func (d *decoder) item(depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("cbor: nesting deeper than 64 levels")
	}
	major, info, arg, err := d.head()
	if err != nil {
		return nil, err
	}
	switch major {
	case majorUint:
		return arg, nil
	case majorNegInt:
		if arg > math.MaxInt64 {
			return nil, errors.New("cbor: negative integer out of int64 range")
		}
		return -1 - int64(arg), nil
	case majorBytes, majorText:
		s, err := d.str(major, info, arg)
		if err != nil {
			return nil, err
		}
		if major == majorText {
			return string(s), nil
		}
		return s, nil
	case majorArray:
		out := []any{}
		for i := uint64(0); info == indefinite || i < arg; i++ {
			if info == indefinite && d.atBreak() {
				d.pos++
				break
			}
			v, err := d.item(depth + 1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case majorMap:
		out := map[string]any{}
		for i := uint64(0); info == indefinite || i < arg; i++ {
			if info == indefinite && d.atBreak() {
				d.pos++
				break
			}
			k, err := d.item(depth + 1)
			if err != nil {
				return nil, err
			}
			key, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("cbor: map key of type %T, want text", k)
			}
			v, err := d.item(depth + 1)
			if err != nil {
				return nil, err
			}
			out[key] = v
		}
		return out, nil
	case majorTag:
		v, err := d.item(depth + 1)
		if err != nil {
			return nil, err
		}
		if arg != tagEpoch {
			return v, nil
		}
		switch n := v.(type) {
		case uint64:
			return time.Unix(int64(n), 0).UTC(), nil
		case int64:
			return time.Unix(n, 0).UTC(), nil
		case float64:
			sec, frac := math.Modf(n)
			return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
		default:
			return nil, fmt.Errorf("cbor: epoch timestamp of type %T", v)
		}
	default:
		return d.simple(info, arg)
	}
}

func (d *decoder) str(major, info byte, arg uint64) ([]byte, error) {
	if info != indefinite {
		if arg > uint64(len(d.b)-d.pos) {
			return nil, errShort
		}
		s := make([]byte, arg)
		copy(s, d.b[d.pos:])
		d.pos += int(arg)
		return s, nil
	}
	out := []byte{}
	for !d.atBreak() {
		m, i, a, err := d.head()
		if err != nil {
			return nil, err
		}
		if m != major || i == indefinite {
			return nil, errors.New("cbor: malformed indefinite-length string chunk")
		}
		chunk, err := d.str(m, i, a)
		if err != nil {
			return nil, err
		}
		out = append(out, chunk...)
	}
	d.pos++
	return out, nil
}

func (d *decoder) simple(info byte, arg uint64) (any, error) {
	switch info {
	case 20:
		return false, nil
	case 21:
		return true, nil
	case 22, 23:
		return nil, nil
	case 25:
		return float64(halfToFloat(uint16(arg))), nil
	case 26:
		return float64(math.Float32frombits(uint32(arg))), nil
	case 27:
		return math.Float64frombits(arg), nil
	default:
		return nil, fmt.Errorf("cbor: unsupported simple value %d", info)
	}
}

func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0:
		f := float32(mant) / (1 << 24)
		if sign != 0 {
			return -f
		}
		return f
	case 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// Encode writes v as CBOR with definite lengths and map keys in sorted order, so equal values
// always give equal bytes.
func Encode(v any) ([]byte, error) {
	var e encoder
	if err := e.value(v); err != nil {
		return nil, err
	}
	return e.b, nil
}

type encoder struct{ b []byte }

func (e *encoder) head(major byte, n uint64) {
	switch {
	case n < 24:
		e.b = append(e.b, major<<5|byte(n))
	case n <= math.MaxUint8:
		e.b = append(e.b, major<<5|24, byte(n))
	case n <= math.MaxUint16:
		e.b = binary.BigEndian.AppendUint16(append(e.b, major<<5|25), uint16(n))
	case n <= math.MaxUint32:
		e.b = binary.BigEndian.AppendUint32(append(e.b, major<<5|26), uint32(n))
	default:
		e.b = binary.BigEndian.AppendUint64(append(e.b, major<<5|27), n)
	}
}

func (e *encoder) int(n int64) {
	if n >= 0 {
		e.head(majorUint, uint64(n))
		return
	}
	e.head(majorNegInt, uint64(-1-n))
}

func (e *encoder) float(f float64) {
	e.b = binary.BigEndian.AppendUint64(append(e.b, majorSimple<<5|27), math.Float64bits(f))
}

func (e *encoder) time(t time.Time) {
	e.head(majorTag, tagEpoch)
	e.float(float64(t.UnixMilli()) / 1000)
}

func (e *encoder) value(v any) error {
	switch x := v.(type) {
	case nil:
		e.b = append(e.b, majorSimple<<5|22)
	case bool:
		if x {
			e.b = append(e.b, majorSimple<<5|21)
		} else {
			e.b = append(e.b, majorSimple<<5|20)
		}
	case int:
		e.int(int64(x))
	case int64:
		e.int(x)
	case uint64:
		e.head(majorUint, x)
	case float32:
		e.float(float64(x))
	case float64:
		e.float(x)
	case string:
		e.head(majorText, uint64(len(x)))
		e.b = append(e.b, x...)
	case []byte:
		e.head(majorBytes, uint64(len(x)))
		e.b = append(e.b, x...)
	case time.Time:
		e.time(x)
	case []string:
		e.head(majorArray, uint64(len(x)))
		for _, s := range x {
			e.head(majorText, uint64(len(s)))
			e.b = append(e.b, s...)
		}
	case []float64:
		e.head(majorArray, uint64(len(x)))
		for _, f := range x {
			e.float(f)
		}
	case []time.Time:
		e.head(majorArray, uint64(len(x)))
		for _, t := range x {
			e.time(t)
		}
	case []any:
		e.head(majorArray, uint64(len(x)))
		for _, item := range x {
			if err := e.value(item); err != nil {
				return err
			}
		}
	case []map[string]any:
		e.head(majorArray, uint64(len(x)))
		for _, item := range x {
			if err := e.value(item); err != nil {
				return err
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		e.head(majorMap, uint64(len(keys)))
		for _, k := range keys {
			e.head(majorText, uint64(len(k)))
			e.b = append(e.b, k...)
			if err := e.value(x[k]); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
	default:
		return fmt.Errorf("cbor: cannot encode %T", v)
	}
	return nil
}
