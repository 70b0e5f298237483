package tables

import (
	"math"
	"reflect"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
)

func TestPickHistograms(t *testing.T) {
	for _, tt := range []struct {
		total, maxSteps int
		want            []int
	}{
		{0, 10, nil},
		{5, 0, nil},  // no limit
		{5, 5, nil},  // all fit
		{5, -1, nil}, // no limit
		{6, 5, []int{0, 1, 3, 4, 5}},
		{100, 3, []int{0, 50, 99}}, // 49.5 rounds away from zero
		{10, 1, []int{0, 9}},       // at least the first and the last
	} {
		if got := PickHistograms(tt.total, tt.maxSteps); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("PickHistograms(%d, %d) = %v, want %v", tt.total, tt.maxSteps, got, tt.want)
		}
	}
}

func TestHeaderOf(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    runfmt.Header
		want Header
	}{
		{"empty", runfmt.Header{}, Header{Project: "default", Tags: "[]", Command: "[]", Env: "null"}},
		{"full", runfmt.Header{Project: "p", Tags: []string{"a"}, Command: []string{"python", "t.py"},
			Env: map[string]string{"K": "v"}, Git: &runfmt.Git{Commit: "abc"}},
			Header{Project: "p", Tags: `["a"]`, Command: `["python","t.py"]`, Env: `{"K":"v"}`, Git: `{"commit":"abc"}`}},
	} {
		if got := HeaderOf(&tt.h); got != tt.want {
			t.Errorf("%s: HeaderOf = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestEncodeObject(t *testing.T) {
	for _, tt := range []struct {
		m    map[string]any
		want string
	}{
		{nil, "{}"},
		{map[string]any{"x": 1.5}, `{"x":1.5}`},
		{map[string]any{"x": math.NaN(), "y": math.Inf(-1)}, `{"x":"NaN","y":"-Infinity"}`},
	} {
		got, err := EncodeObject(tt.m)
		if err != nil || got != tt.want {
			t.Errorf("EncodeObject(%v) = %s, %v; want %s", tt.m, got, err, tt.want)
		}
		if tt.m != nil && !reflect.DeepEqual(DecodeObject(got)["y"], tt.m["y"]) {
			t.Errorf("DecodeObject(%s) does not give back %v", got, tt.m)
		}
	}
}

func TestEndTime(t *testing.T) {
	if got := EndTime(&runfmt.Status{Status: runfmt.StatusRunning, Time: 5}); got != 0 {
		t.Errorf("EndTime(running) = %v, want 0", got)
	}
	if got := EndTime(&runfmt.Status{Status: "finished", Time: 5}); got != 5 {
		t.Errorf("EndTime(finished) = %v, want 5", got)
	}
}

func TestChunkFields(t *testing.T) {
	var c series.Points
	for _, s := range []int64{7, 3, 9} {
		c.Append(s, 100+s, float64(s))
	}
	raw, lo, hi := ChunkFields(c)
	var st series.Stats
	if err := st.UnmarshalBinary(raw); err != nil || st.Count != 3 || st.Last.Step != 9 {
		t.Errorf("ChunkFields stats = %+v, %v; want 3 points, the last at step 9", st, err)
	}
	if lo != 3 || hi != 9 {
		t.Errorf("ChunkFields steps = %d..%d, want 3..9", lo, hi)
	}
}
