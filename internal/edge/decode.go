package edge

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// DecodeEvent decodes a CloudFront event exactly as encoding/json does, several times faster under
// WebAssembly, where reflection-driven decoding alone would take the call past its budget. It reads
// the documented event shape directly; anything else (unknown or repeated fields, null, fractions,
// escaped surrogates, invalid UTF-8 or invalid JSON) goes to encoding/json, so results and errors
// never differ from the native handler's.
func DecodeEvent(data []byte) (Event, error) {
	d := decoder{data: data}
	var ev Event
	if d.event(&ev) && d.end() {
		return ev, nil
	}
	ev = Event{}
	err := json.Unmarshal(data, &ev)
	return ev, err
}

// errSlowPath only steers DecodeEvent to encoding/json; callers never see it.
var errSlowPath = errors.New("not on the fast path")

type decoder struct {
	data []byte
	pos  int
	err  error
}

func (d *decoder) fail() bool {
	d.err = errSlowPath
	return false
}

func (d *decoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) end() bool {
	d.space()
	return d.err == nil && d.pos == len(d.data)
}

// consume skips white space and reads the byte c.
func (d *decoder) consume(c byte) bool {
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

// object reads {"key": value, ...}, calling field for each key with the decoder at its value.
// Within one object a key may appear once.
func (d *decoder) object(field func(key string) bool) bool {
	if !d.consume('{') {
		return d.fail()
	}
	if d.consume('}') {
		return true
	}
	for {
		key, ok := d.str()
		if !ok || !d.consume(':') || !field(key) {
			return d.fail()
		}
		if d.consume('}') {
			return true
		}
		if !d.consume(',') {
			return d.fail()
		}
	}
}

// structObject is object for a struct: each known key at most once, unknown keys refused.
func (d *decoder) structObject(keys []string, field func(i int) bool) bool {
	var seen uint32
	return d.object(func(key string) bool {
		for i, k := range keys {
			if k == key {
				if seen&(1<<i) != 0 {
					return false
				}
				seen |= 1 << i
				return field(i)
			}
		}
		return false
	})
}

func (d *decoder) array(elem func() bool) bool {
	if !d.consume('[') {
		return d.fail()
	}
	if d.consume(']') {
		return true
	}
	for {
		if !elem() {
			return d.fail()
		}
		if d.consume(']') {
			return true
		}
		if !d.consume(',') {
			return d.fail()
		}
	}
}

func (d *decoder) str() (string, bool) {
	d.space()
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return "", d.fail()
	}
	start := d.pos + 1
	i := start
	for i < len(d.data) {
		c := d.data[i]
		switch {
		case c == '"':
			raw := d.data[start:i]
			if !utf8.Valid(raw) {
				return "", d.fail()
			}
			d.pos = i + 1
			return string(raw), true
		case c == '\\':
			return d.escapedStr(start)
		case c < 0x20:
			return "", d.fail()
		}
		i++
	}
	return "", d.fail()
}

// escapedStr finishes a string that holds escapes; the string starts at data[start].
func (d *decoder) escapedStr(start int) (string, bool) {
	buf := make([]byte, 0, 64)
	i := start
	for i < len(d.data) {
		c := d.data[i]
		switch {
		case c == '"':
			if !utf8.Valid(buf) {
				return "", d.fail()
			}
			d.pos = i + 1
			return string(buf), true
		case c < 0x20:
			return "", d.fail()
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		if i+1 >= len(d.data) {
			return "", d.fail()
		}
		switch e := d.data[i+1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(d.data[i+2:])
			if !ok || utf8.RuneLen(r) < 0 { // surrogate halves take encoding/json's path
				return "", d.fail()
			}
			buf = utf8.AppendRune(buf, r)
			i += 4
		default:
			return "", d.fail()
		}
		i += 2
	}
	return "", d.fail()
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// integer reads a JSON integer that fits comfortably in an int.
func (d *decoder) integer() (int, bool) {
	d.space()
	i, neg := d.pos, false
	if i < len(d.data) && d.data[i] == '-' {
		neg = true
		i++
	}
	start, n := i, 0
	for i < len(d.data) && '0' <= d.data[i] && d.data[i] <= '9' && i-start < 9 {
		n = n*10 + int(d.data[i]-'0')
		i++
	}
	if i == start || (d.data[start] == '0' && i-start > 1) {
		return 0, d.fail()
	}
	if i < len(d.data) {
		switch d.data[i] {
		case '.', 'e', 'E', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return 0, d.fail()
		}
	}
	d.pos = i
	if neg {
		n = -n
	}
	return n, true
}

func (d *decoder) boolean() (bool, bool) {
	d.space()
	for _, lit := range []string{"true", "false"} {
		if len(d.data)-d.pos >= len(lit) && string(d.data[d.pos:d.pos+len(lit)]) == lit {
			d.pos += len(lit)
			return lit == "true", true
		}
	}
	return false, d.fail()
}

func (d *decoder) strInto(s *string) bool {
	v, ok := d.str()
	*s = v
	return ok
}

func (d *decoder) intInto(n *int) bool {
	v, ok := d.integer()
	*n = v
	return ok
}

func (d *decoder) event(ev *Event) bool {
	return d.structObject([]string{"Records"}, func(int) bool {
		ev.Records = []Record{}
		return d.array(func() bool {
			var r Record
			ok := d.structObject([]string{"cf"}, func(int) bool { return d.cf(&r.CF) })
			ev.Records = append(ev.Records, r)
			return ok
		})
	})
}

func (d *decoder) cf(cf *CF) bool {
	return d.structObject([]string{"config", "request"}, func(i int) bool {
		if i == 0 {
			c := &cf.Config
			return d.structObject([]string{"distributionDomainName", "distributionId", "eventType", "requestId"}, func(i int) bool {
				return d.strInto([]*string{&c.DistributionDomainName, &c.DistributionID, &c.EventType, &c.RequestID}[i])
			})
		}
		return d.request(&cf.Request)
	})
}

func (d *decoder) request(r *Request) bool {
	keys := []string{"clientIp", "headers", "method", "querystring", "uri", "body", "origin"}
	return d.structObject(keys, func(i int) bool {
		switch i {
		case 1:
			return d.headers(&r.Headers)
		case 5:
			r.Body = &Body{}
			return d.body(r.Body)
		case 6:
			r.Origin = &Origin{}
			return d.origin(r.Origin)
		}
		return d.strInto([]*string{&r.ClientIP, nil, &r.Method, &r.QueryString, &r.URI}[i])
	})
}

func (d *decoder) headers(h *Headers) bool {
	*h = Headers{}
	return d.object(func(name string) bool {
		values := []Header{}
		ok := d.array(func() bool {
			var v Header
			ok := d.structObject([]string{"key", "value"}, func(i int) bool {
				return d.strInto([]*string{&v.Key, &v.Value}[i])
			})
			values = append(values, v)
			return ok
		})
		(*h)[name] = values
		return ok
	})
}

func (d *decoder) body(b *Body) bool {
	return d.structObject([]string{"inputTruncated", "action", "encoding", "data"}, func(i int) bool {
		if i == 0 {
			v, ok := d.boolean()
			b.InputTruncated = v
			return ok
		}
		return d.strInto([]*string{nil, &b.Action, &b.Encoding, &b.Data}[i])
	})
}

func (d *decoder) origin(o *Origin) bool {
	return d.structObject([]string{"custom", "s3"}, func(i int) bool {
		if i == 0 {
			o.Custom = &CustomOrigin{}
			return d.customOrigin(o.Custom)
		}
		o.S3 = &S3Origin{}
		s := o.S3
		return d.structObject([]string{"authMethod", "customHeaders", "domainName", "path", "region"}, func(i int) bool {
			if i == 1 {
				return d.headers(&s.CustomHeaders)
			}
			return d.strInto([]*string{&s.AuthMethod, nil, &s.DomainName, &s.Path, &s.Region}[i])
		})
	})
}

func (d *decoder) customOrigin(c *CustomOrigin) bool {
	keys := []string{"customHeaders", "domainName", "keepaliveTimeout", "path", "port", "protocol", "readTimeout", "sslProtocols"}
	return d.structObject(keys, func(i int) bool {
		switch i {
		case 0:
			return d.headers(&c.CustomHeaders)
		case 2:
			return d.intInto(&c.KeepaliveTimeout)
		case 4:
			return d.intInto(&c.Port)
		case 6:
			return d.intInto(&c.ReadTimeout)
		case 7:
			c.SSLProtocols = []string{}
			return d.array(func() bool {
				s, ok := d.str()
				c.SSLProtocols = append(c.SSLProtocols, s)
				return ok
			})
		}
		return d.strInto([]*string{nil, &c.DomainName, nil, &c.Path, nil, &c.Protocol}[i])
	})
}
