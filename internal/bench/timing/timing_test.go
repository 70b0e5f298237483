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

func TestFormats(t *testing.T) {
	t.Parallel()
	counts := map[int]string{999: "999", 1000: "1 k", 1500: "1.5 k", 20_000: "20 k", 1_000_000: "1 M", 2_500_000: "2.5 M", 10_000_000: "10 M"}
	for n, want := range counts {
		if got := Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
	durs := map[time.Duration]string{1500 * time.Microsecond: "1.5 ms", 22 * time.Millisecond: "22 ms", 1500 * time.Millisecond: "1.50 s"}
	for d, want := range durs {
		if got := Short(d); got != want {
			t.Errorf("Short(%v) = %q, want %q", d, got, want)
		}
	}
	if got := Millis(22 * time.Millisecond); got != "22.0 ms" {
		t.Errorf("Millis = %q", got)
	}
}
