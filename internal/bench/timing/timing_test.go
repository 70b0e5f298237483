package timing

import (
	"errors"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{[]time.Duration{5}, 5},
		{[]time.Duration{3, 1, 2}, 2},
		{[]time.Duration{4, 1, 3, 2}, 3},
	} {
		in := append([]time.Duration(nil), tc.in...)
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", in, got, tc.want)
		}
		for i := range in {
			if in[i] != tc.in[i] {
				t.Errorf("Median reordered its argument: %v", tc.in)
			}
		}
	}
}

func TestRepeat(t *testing.T) {
	calls := 0
	d, err := Repeat(0, func() (time.Duration, error) { calls++; return 7, nil })
	if err != nil || d != 7 || calls != 1 {
		t.Errorf("Repeat(0) = %v, %v after %d calls, want 7, nil after 1", d, err, calls)
	}
	boom := errors.New("boom")
	if _, err := Time(3, func() error { return boom }); !errors.Is(err, boom) {
		t.Errorf("Time: err = %v, want %v", err, boom)
	}
}
