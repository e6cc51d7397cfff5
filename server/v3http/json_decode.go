package v3http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// This file holds the JSON decoding primitives, written to behave exactly
// like golang/protobuf 1.3's jsonpb as used by etcd 3.4's gateway: same
// accepted inputs and the same error texts, because etcd clients and our
// differential test see those texts. Most of the texts come from
// encoding/json itself, so each primitive decodes with json.Unmarshal into
// the same Go type jsonpb uses (int64, bool, []byte, map, slice).

// nullJSON is the raw value of an absent or empty request.
var nullJSON = json.RawMessage("null")

// readTop returns the first JSON value of body. An empty (or all
// whitespace) body is null, i.e. an empty request; bytes after the first
// value are ignored. Both as in etcd's gateway, which decodes one value
// from the body stream and treats io.EOF as "no fields".
func readTop(body []byte) (json.RawMessage, error) {
	var raw json.RawMessage
	err := json.NewDecoder(bytes.NewReader(body)).Decode(&raw)
	if errors.Is(err, io.EOF) {
		return nullJSON, nil
	}
	if err != nil {
		return nil, err
	}
	return raw, nil
}

// fields is a JSON object being decoded one protobuf field at a time. The
// first error sticks and every later call is a no-op, so a message decoder
// is a straight list of calls in protobuf field order and reports the same
// first error as jsonpb.
type fields struct {
	m   map[string]json.RawMessage
	err error
}

// newFields parses raw as an object. null is an object without fields.
// Arrays, strings and numbers fail with encoding/json's text, naming
// map[string]json.RawMessage as jsonpb's does.
func newFields(raw json.RawMessage) *fields {
	f := &fields{}
	f.err = json.Unmarshal(raw, &f.m)
	return f
}

// take returns the raw value of a field named orig (proto name) or camel
// (JSON name); when both are present the camel one wins, as in jsonpb.
func (f *fields) take(orig, camel string) (json.RawMessage, bool) {
	if f.err != nil {
		return nil, false
	}
	vo, okOrig := f.m[orig]
	vc, okCamel := f.m[camel]
	switch {
	case okCamel:
		return vc, true
	case okOrig:
		return vo, true
	}
	return nil, false
}

// bytes decodes a bytes field: padded standard base64 (encoding/json's
// rules: "\r" and "\n" are skipped, null leaves it nil).
func (f *fields) bytes(orig, camel string, dst *[]byte) {
	if raw, ok := f.take(orig, camel); ok {
		f.err = json.Unmarshal(raw, dst)
	}
}

// int64 decodes an int64 field given as a number or a string holding
// one: jsonpb drops the quotes and parses what is left as JSON.
func (f *fields) int64(orig, camel string, dst *int64) {
	if raw, ok := f.take(orig, camel); ok {
		f.err = json.Unmarshal(unquoteNumber(raw), dst)
	}
}

// bool decodes a bool field; only true, false and null are accepted.
func (f *fields) bool(orig, camel string, dst *bool) {
	if raw, ok := f.take(orig, camel); ok {
		f.err = json.Unmarshal(raw, dst)
	}
}

// repeated decodes an array field and calls each for every element in
// order, stopping at the first error. null is an empty array.
func (f *fields) repeated(orig, camel string, each func(json.RawMessage) error) {
	raw, ok := f.take(orig, camel)
	if !ok {
		return
	}
	var elems []json.RawMessage
	if f.err = json.Unmarshal(raw, &elems); f.err != nil {
		return
	}
	for _, el := range elems {
		if f.err = each(el); f.err != nil {
			return
		}
	}
}

// message calls dec on a nested message field's raw value; a null value
// is left unset (dec is not called), as jsonpb does for message pointers.
func (f *fields) message(orig, camel string, dec func(json.RawMessage) error) {
	raw, ok := f.take(orig, camel)
	if !ok || isNull(raw) {
		return
	}
	f.err = dec(raw)
}

// enumType describes a protobuf enum for decoding: its full proto name
// (used in error texts) and its value names, indexed by number.
type enumType struct {
	name   string
	values []string
}

// enumField decodes an enum field given as a value name or as a number.
// An unknown name is an error naming the enum; an unknown number is kept
// (jsonpb does not check numbers).
func enumField[T ~int32](f *fields, orig, camel string, dst *T, et enumType) {
	raw, ok := f.take(orig, camel)
	if !ok {
		return
	}
	if len(raw) >= 2 && raw[0] == '"' {
		// jsonpb looks the name up without unescaping it.
		s := raw[1 : len(raw)-1]
		for i, name := range et.values {
			if name == string(s) {
				*dst = T(i)
				return
			}
		}
		f.err = fmt.Errorf("unknown value %q for enum %s", []byte(s), et.name)
		return
	}
	var n int32
	if err := json.Unmarshal(raw, &n); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			// jsonpb unmarshals into the generated Go enum type, whose
			// name etcd's error text carries.
			err = fmt.Errorf("json: cannot unmarshal %s into Go value of type %s", te.Value, et.name)
		}
		f.err = err
		return
	}
	if !isNull(raw) {
		*dst = T(n)
	}
}

// unquoteNumber drops the quotes of a JSON string, as jsonpb does for
// numeric fields, so "5" parses as 5 and "null" as null.
func unquoteNumber(raw json.RawMessage) json.RawMessage {
	if len(raw) >= 2 && raw[0] == '"' {
		return raw[1 : len(raw)-1]
	}
	return raw
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }
