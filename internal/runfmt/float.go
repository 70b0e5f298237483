package runfmt

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Float is a float64 whose JSON form follows runlog's convention for
// non-finite numbers: NaN and the infinities are the strings "NaN",
// "Infinity" and "-Infinity", since JSON has no numbers for them.
type Float float64

// MarshalJSON writes f as a JSON number, or as a string if it is not finite.
func (f Float) MarshalJSON() ([]byte, error) {
	if s, ok := nonFiniteName(float64(f)); ok {
		return []byte(`"` + s + `"`), nil
	}
	return strconv.AppendFloat(nil, float64(f), 'g', -1, 64), nil
}

// UnmarshalJSON reads a JSON number or one of the strings for non-finite
// numbers.
func (f *Float) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, ok := NumberValue(s).(float64)
		if !ok {
			return fmt.Errorf("runfmt: %q is not a number", s)
		}
		*f = Float(v)
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("runfmt: %s is not a number", b)
	}
	*f = Float(v)
	return nil
}

// Finite returns v with every non-finite float inside maps and slices
// replaced by its string name, ready for encoding/json.
func Finite(v any) any { return finite(v) }
