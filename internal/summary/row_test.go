package summary

import (
	"encoding/json"
	"testing"
)

func TestTimeJSON(t *testing.T) {
	tests := []struct {
		t    Time
		json string
	}{
		{0, `null`},
		{1764201600, `"2025-11-27T00:00:00.000Z"`},
		{1764201600.25, `"2025-11-27T00:00:00.250Z"`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.t)
		if err != nil || string(got) != tt.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", float64(tt.t), got, err, tt.json)
		}
		var back Time
		if err := json.Unmarshal([]byte(tt.json), &back); err != nil || back != tt.t {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", tt.json, float64(back), err, float64(tt.t))
		}
	}
	var bad Time
	if err := json.Unmarshal([]byte(`1764201600`), &bad); err == nil {
		t.Error("a number was taken for a time string")
	}
}
