package mlflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// MLflow's wording for requests it refuses (mlflow/utils/validation.py and
// the schema checks of mlflow/server/handlers.py): the parameter is named
// as the request names it, and a value is quoted as Python's json.dumps
// writes it.

const apiDocsHint = " See the API docs for more information about request parameters."

// missing is MLflow's error for a required parameter the request lacks.
func missing(param string) *apiError {
	return invalidf("Missing value for required parameter '%s'.%s", param, apiDocsHint)
}

// invalidValue is MLflow's error for a parameter whose value is refused
// for reason (which may be empty).
func invalidValue(param string, v any, reason string) *apiError {
	if reason == "" {
		return invalidf("Invalid value %s for parameter '%s' supplied.", pyJSON(v), param)
	}
	return invalidf("Invalid value %s for parameter '%s' supplied: %s", pyJSON(v), param, reason)
}

// wrongType is MLflow's error for a parameter of the wrong JSON type.
func wrongType(param string, v any) *apiError {
	return invalidf("Invalid value %s for parameter '%s' supplied:  Hint: Value was of type '%s'.%s",
		pyJSON(v), param, pyType(v), apiDocsHint)
}

// pyJSON writes v as Python's json.dumps(v, sort_keys=True,
// separators=(",", ":")) does: keys sorted, no spaces, non-ASCII escaped.
func pyJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return fmt.Sprint(v)
	}
	s := strings.TrimSuffix(buf.String(), "\n")
	var out strings.Builder
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			out.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&out, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&out, `\u%04x`, r)
		}
	}
	return out.String()
}

// pyType names the Python type that json.loads gives a JSON value.
func pyType(v any) string {
	switch v := v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case json.Number:
		if strings.ContainsAny(string(v), ".eE") {
			return "float"
		}
		return "int"
	case string:
		return "str"
	case []any:
		return "list"
	}
	return "dict"
}

// requestError maps an error of decoding the JSON request data into
// MLflow's message, which names the field as the request does and quotes
// its value: "Invalid value 31 for parameter 'run_id' supplied". Go's own
// wording names the Go struct fields, which mean nothing to a client.
func requestError(data []byte, err error) error {
	var te *json.UnmarshalTypeError
	var ve *valueError
	switch {
	case errors.As(err, &te) && te.Field != "":
		name := te.Field[strings.LastIndex(te.Field, ".")+1:]
		v, ok := findValue(data, name, func(v any) bool { return jsonKind(v) == te.Value })
		if !ok {
			return invalidf("Invalid value for parameter '%s': expected %v, got a JSON %s.%s", name, te.Type, te.Value, apiDocsHint)
		}
		return wrongType(name, v)
	case errors.As(err, &ve):
		var want any
		if decodeAny(ve.raw, &want) != nil {
			break
		}
		key := ""
		v, ok := findValue(data, "", func(v any) bool { return pyJSON(v) == pyJSON(want) }, &key)
		if ok {
			return wrongType(key, v)
		}
		return invalidf("Invalid value %s supplied: %s.%s", pyJSON(want), ve.msg, apiDocsHint)
	}
	return errorf(codeBadRequest, "Malformed request body: %v", err)
}

func decodeAny(data []byte, v *any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return d.Decode(v)
}

// jsonKind names a value's kind as encoding/json's UnmarshalTypeError
// does.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	}
	return "object"
}

// findValue returns the first value, depth first, of a member named name
// (any name if name is "") for which match holds; the member's name goes
// to *key when key is given.
func findValue(data []byte, name string, match func(any) bool, key ...*string) (any, bool) {
	var root any
	if decodeAny(data, &root) != nil {
		return nil, false
	}
	var walk func(v any) (any, bool)
	walk = func(v any) (any, bool) {
		switch v := v.(type) {
		case map[string]any:
			keys := slices.Sorted(maps.Keys(v))
			for _, k := range keys {
				if x := v[k]; (name == "" || k == name) && match(x) {
					if len(key) > 0 {
						*key[0] = k
					}
					return x, true
				}
			}
			for _, k := range keys {
				if found, ok := walk(v[k]); ok {
					return found, true
				}
			}
		case []any:
			for _, x := range v {
				if found, ok := walk(x); ok {
					return found, true
				}
			}
		}
		return nil, false
	}
	return walk(root)
}
