package series

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// noisy returns n points at steps 0…n-1 whose values wander, with spikes,
// repeats, NaN and ±Inf where the cases put them.
func noisy(n int, seed uint64) Points {
	rng := rand.New(rand.NewPCG(seed, 1))
	var p Points
	v := 3.0
	for i := range n {
		v += rng.NormFloat64() * 0.01
		y := v
		switch r := rng.IntN(1000); {
		case r < 3:
			y = math.NaN()
		case r < 4:
			y = math.Inf(1)
		case r < 5:
			y = math.Inf(-1)
		case r < 15:
			y = v * 10 // a spike
		case r < 100:
			y = math.Round(v*10) / 10 // ties
		}
		p.Append(int64(i), 1_700_000_000_000+int64(i)*37, y)
	}
	return p
}

// TestOverviewDownsampleEqualsPoints: when every bucket is made of whole
// blocks, downsampling the overview gives exactly what downsampling the
// points gives.
func TestOverviewDownsampleEqualsPoints(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name             string
		buckets, perBkt  int // blocks a bucket holds
		nanBlock, infAll bool
	}{
		{"one block a bucket", 50, 1, false, false},
		{"eight blocks a bucket", 500, 8, false, false},
		{"a block of NaN", 20, 4, true, false},
		{"all infinite", 10, 3, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// steps 0…n-1 with n-1 = buckets·perBkt·OverviewBlock: bucket
			// edges fall on block edges (the last point is a block of one
			// and, in both, goes to the last bucket).
			n := tc.buckets*tc.perBkt*OverviewBlock + 1
			p := noisy(n, uint64(n))
			if tc.nanBlock {
				for i := 5 * OverviewBlock; i < 6*OverviewBlock; i++ {
					p.Values[i] = math.NaN()
				}
			}
			if tc.infAll {
				for i := range p.Values {
					p.Values[i] = math.Inf(1 - 2*(i%2))
				}
			}
			xs := X(p, AxisStep, 0, nil)
			wantX, wantY := Downsample(xs, p.Values, tc.buckets)
			o := OverviewOf(p)
			got := o.Downsample(tc.buckets)
			if got.Len() != len(wantX) {
				t.Fatalf("%d points, want %d", got.Len(), len(wantX))
			}
			for i := range wantX {
				if float64(got.Steps[i]) != wantX[i] || !sameValue(got.Values[i], wantY[i]) {
					t.Fatalf("point %d: step %d value %v, want %v %v", i, got.Steps[i], got.Values[i], wantX[i], wantY[i])
				}
				if j := got.Steps[i]; got.Times[i] != p.Times[j] {
					t.Fatalf("point %d: time %d, want %d", i, got.Times[i], p.Times[j])
				}
			}
		})
	}
}

func sameValue(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

// TestOverviewDownsampleKeepsExtremes: on any bucket count, the result is
// points of the series in step order, with its first and last point,
// every block's extremes inside the bucket that took it, and every spike.
func TestOverviewDownsampleKeepsExtremes(t *testing.T) {
	t.Parallel()
	p := noisy(100_003, 7)
	p.Values[77_777] = 1e6
	p.Values[12_345] = -1e6
	o := OverviewOf(p)
	if o.Count() != p.Len() {
		t.Fatalf("Count %d, want %d", o.Count(), p.Len())
	}
	for _, buckets := range []int{1, 7, 100, 499, 1563} {
		got := o.Downsample(buckets)
		if !slices.IsSorted(got.Steps) {
			t.Fatalf("%d buckets: steps not ascending", buckets)
		}
		if got.Len() > 5*buckets {
			t.Errorf("%d buckets: %d points", buckets, got.Len())
		}
		for i, s := range got.Steps {
			if !sameValue(got.Values[i], p.Values[s]) || got.Times[i] != p.Times[s] {
				t.Fatalf("%d buckets: point %d is not the series' point at step %d", buckets, i, s)
			}
		}
		if got.Steps[0] != 0 || got.Steps[got.Len()-1] != int64(p.Len()-1) {
			t.Errorf("%d buckets: ends at steps %d and %d", buckets, got.Steps[0], got.Steps[got.Len()-1])
		}
		for _, v := range []float64{1e6, -1e6} {
			if !slices.Contains(got.Values, v) {
				t.Errorf("%d buckets: the spike %v vanished", buckets, v)
			}
		}
		// Like Downsample, a bucket keeps its first non-finite value.
		if !slices.ContainsFunc(got.Values, func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }) {
			t.Errorf("%d buckets: no non-finite value left", buckets)
		}
	}
}

func TestOverviewEncoding(t *testing.T) {
	t.Parallel()
	for _, p := range []Points{{}, noisy(1, 1), noisy(63, 2), noisy(64, 3), noisy(4096, 4), noisy(1000, 5)} {
		o := OverviewOf(p)
		enc := AppendOverview([]byte{0xAA}, o)
		var got Overview
		got.Add(noisy(10, 9)) // decoding appends
		before := len(got.Sizes)
		if err := DecodeOverview(enc[1:], &got); err != nil {
			t.Fatalf("%d points: %v", p.Len(), err)
		}
		if !slices.Equal(got.Sizes[before:], o.Sizes) || !slices.Equal(got.Roles[len(got.Roles)-len(o.Roles):], o.Roles) {
			t.Fatalf("%d points: blocks or roles differ", p.Len())
		}
		tail := got.Points.Slice(got.Points.Len()-o.Points.Len(), got.Points.Len())
		equalPoints(t, tail, o.Points)
		if got.Count() != 10+p.Len() {
			t.Errorf("%d points: Count %d after appending", p.Len(), got.Count())
		}
	}
	enc := AppendOverview(nil, OverviewOf(noisy(300, 6)))
	for i := range len(enc) - 1 {
		var o Overview
		if err := DecodeOverview(enc[:i], &o); !errors.Is(err, ErrCorruptChunk) {
			t.Fatalf("truncated at %d of %d bytes: %v", i, len(enc), err)
		}
	}
}

func FuzzDecodeOverview(f *testing.F) {
	f.Add(AppendOverview(nil, OverviewOf(noisy(200, 1))))
	f.Add([]byte{1, 64, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var o Overview
		if err := DecodeOverview(data, &o); err != nil {
			return
		}
		if len(o.Roles) != o.Points.Len() {
			t.Fatalf("%d roles for %d points", len(o.Roles), o.Points.Len())
		}
		o.Downsample(3) // must not panic on what decodes
	})
}

// TestGoldenOverview pins the bytes of a stored overview, as
// TestGoldenChunks pins those of chunks: testdata/overview.golden is the
// overview of 150 points (three blocks, the last of 22) with a NaN, an
// +Inf and a tie.
func TestGoldenOverview(t *testing.T) {
	t.Parallel()
	var p Points
	for i := range 150 {
		v := float64(100 - i%40)
		switch i {
		case 10:
			v = math.NaN()
		case 70:
			v = math.Inf(1)
		}
		p.Append(int64(i)*10, 1764201600000+int64(i)*250, v)
	}
	enc := AppendOverview(nil, OverviewOf(p))
	path := filepath.Join("testdata", "overview.golden")
	if *update {
		head := fmt.Sprintf("overview: 150 points in 3 blocks, %d bytes; see docs/chunk-format.md, Overviews", len(enc))
		if err := os.WriteFile(path, hexFile(head, enc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := readHex(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(enc, want) {
		t.Errorf("AppendOverview gives bytes that differ from %s: the stored format changed\n got: % x\nwant: % x", path, enc, want)
	}
	var o Overview
	if err := DecodeOverview(want, &o); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Sizes, []int32{64, 64, 22}) {
		t.Errorf("blocks %v, want [64 64 22]", o.Sizes)
	}
	// Block 0: first (100), NaN at 10 (first non-finite), the lowest 61 at
	// step 390 (39 is its index), the highest 100 is the first point, last.
	wantRoles := []uint8{RoleFirst | RoleMax, RoleBad, RoleMin, RoleLast}
	if !slices.Equal(o.Roles[:4], wantRoles) || o.Points.Steps[1] != 100 || o.Points.Steps[2] != 390 {
		t.Errorf("block 0: roles %v at steps %v, want %v at [0 100 390 630]", o.Roles[:4], o.Points.Steps[:4], wantRoles)
	}
}
