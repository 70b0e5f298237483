package display

import (
	"math"
	"testing"
)

func TestDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sec  float64
		want string
	}{
		{0, "0s"}, {12.54, "12.5s"}, {59.96, "60s"}, {184, "3m04s"}, {7500, "2h05m"}, {3 * 86400, "3d00h"},
		{-1, "-"}, {math.NaN(), "-"},
	}
	for _, tt := range tests {
		if got := Duration(tt.sec); got != tt.want {
			t.Errorf("Duration(%v) = %q, want %q", tt.sec, got, tt.want)
		}
	}
}

func TestNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v    float64
		want string
	}{
		{3.14159265, "3.1416"}, {12345.6, "12346"}, {123456, "1.2346e+05"}, {0.000123, "0.000123"},
		{math.NaN(), "NaN"}, {math.Inf(1), "+Inf"}, {math.Inf(-1), "-Inf"},
	}
	for _, tt := range tests {
		if got := Number(tt.v); got != tt.want {
			t.Errorf("Number(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 bytes"}, {1023, "1023 bytes"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"},
		{5 << 20, "5.0 MiB"}, {969 << 20, "969.0 MiB"}, {3 << 30, "3.0 GiB"},
	}
	for _, tt := range tests {
		if got := Bytes(tt.n); got != tt.want {
			t.Errorf("Bytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
