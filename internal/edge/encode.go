package edge

import (
	"slices"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the request as JSON byte for byte as the Lambda runtime's encoder writes it
// (encoding/json with HTML escaping off), without reflection: under WebAssembly that saves most of
// the encoding time.
func (r *Request) AppendJSON(b []byte) []byte {
	b = append(b, `{"clientIp":`...)
	b = appendString(b, r.ClientIP)
	if r.Headers != nil {
		b = append(b, `,"headers":`...)
		b = r.Headers.appendJSON(b)
	}
	b = append(b, `,"method":`...)
	b = appendString(b, r.Method)
	b = append(b, `,"querystring":`...)
	b = appendString(b, r.QueryString)
	b = append(b, `,"uri":`...)
	b = appendString(b, r.URI)
	if r.Body != nil {
		b = append(b, `,"body":{"inputTruncated":`...)
		b = strconv.AppendBool(b, r.Body.InputTruncated)
		b = append(b, `,"action":`...)
		b = appendString(b, r.Body.Action)
		b = append(b, `,"encoding":`...)
		b = appendString(b, r.Body.Encoding)
		b = append(b, `,"data":`...)
		b = appendString(b, r.Body.Data)
		b = append(b, '}')
	}
	if r.Origin != nil {
		b = append(b, `,"origin":{`...)
		if c := r.Origin.Custom; c != nil {
			b = append(b, `"custom":{`...)
			if c.CustomHeaders != nil {
				b = append(b, `"customHeaders":`...)
				b = c.CustomHeaders.appendJSON(b)
				b = append(b, ',')
			}
			b = append(b, `"domainName":`...)
			b = appendString(b, c.DomainName)
			b = append(b, `,"keepaliveTimeout":`...)
			b = strconv.AppendInt(b, int64(c.KeepaliveTimeout), 10)
			b = append(b, `,"path":`...)
			b = appendString(b, c.Path)
			b = append(b, `,"port":`...)
			b = strconv.AppendInt(b, int64(c.Port), 10)
			b = append(b, `,"protocol":`...)
			b = appendString(b, c.Protocol)
			b = append(b, `,"readTimeout":`...)
			b = strconv.AppendInt(b, int64(c.ReadTimeout), 10)
			if c.SSLProtocols != nil {
				b = append(b, `,"sslProtocols":[`...)
				for i, p := range c.SSLProtocols {
					if i > 0 {
						b = append(b, ',')
					}
					b = appendString(b, p)
				}
				b = append(b, ']')
			}
			b = append(b, '}')
		}
		if s := r.Origin.S3; s != nil {
			if r.Origin.Custom != nil {
				b = append(b, ',')
			}
			b = append(b, `"s3":{"authMethod":`...)
			b = appendString(b, s.AuthMethod)
			if s.CustomHeaders != nil {
				b = append(b, `,"customHeaders":`...)
				b = s.CustomHeaders.appendJSON(b)
			}
			b = append(b, `,"domainName":`...)
			b = appendString(b, s.DomainName)
			b = append(b, `,"path":`...)
			b = appendString(b, s.Path)
			b = append(b, `,"region":`...)
			b = appendString(b, s.Region)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendJSON writes the names in sorted order, as encoding/json does for maps.
func (h Headers) appendJSON(b []byte) []byte {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	b = append(b, '{')
	for i, name := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, name)
		b = append(b, ':')
		values := h[name]
		if values == nil {
			b = append(b, "null"...)
			continue
		}
		b = append(b, '[')
		for j, v := range values {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			if v.Key != "" {
				b = append(b, `"key":`...)
				b = appendString(b, v.Key)
				b = append(b, ',')
			}
			b = append(b, `"value":`...)
			b = appendString(b, v.Value)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString quotes s with encoding/json's rules when HTML escaping is off: control characters,
// quote and backslash escaped, invalid UTF-8 as a raw U+FFFD (as the
// encoding/json of the pinned toolchain writes it), U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
