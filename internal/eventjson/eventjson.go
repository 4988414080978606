// Package eventjson decodes the JSON that reaches Switchyard from outside (Lambda events, HTTP bodies)
// more strictly than encoding/json: an object with the same key twice is refused instead of letting
// the last one win, invalid UTF-8 is refused instead of being silently replaced, and nothing may
// follow the value. Two parsers that disagree on a duplicate key are how forged input slips past a
// check, so every event and request parser goes through Unmarshal.
package eventjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Unmarshal checks data as described in the package documentation, then decodes it into v as
// json.Unmarshal does.
func Unmarshal(data []byte, v any) error {
	if err := Check(data); err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// Check reports whether data is one well-formed JSON value with valid UTF-8 and no duplicate object
// key at any depth.
func Check(data []byte) error {
	if !utf8.Valid(data) {
		return errors.New("JSON is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := checkValue(dec, ""); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("JSON has data after the top-level value")
	}
	return nil
}

func checkValue(dec *json.Decoder, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("JSON is malformed: %w", err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch delim {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			keyTok, err := dec.Token()
			if err != nil {
				return fmt.Errorf("JSON is malformed: %w", err)
			}
			key := keyTok.(string)
			if seen[key] {
				return fmt.Errorf("JSON object %s has the key %q twice", where(path), key)
			}
			seen[key] = true
			if err := checkValue(dec, path+"."+key); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if err := checkValue(dec, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return fmt.Errorf("JSON is malformed: %w", err)
	}
	return nil
}

func where(path string) string {
	if path == "" {
		return "at the top level"
	}
	return "at " + path[1:]
}
