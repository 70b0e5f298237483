package series

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// realisticTimes returns n timestamps starting at 1.7e12 ms, about 50 ms
// apart with a few ms of jitter, as a training loop logging every step.
func realisticTimes(rng *rand.Rand, n int) []int64 {
	ts := make([]int64, n)
	t := int64(1.7e12)
	for i := range ts {
		ts[i] = t
		t += 50 + rng.Int64N(7) - 3
	}
	return ts
}

// seriesNames are the realistic series, in the order the report lists them.
var seriesNames = []string{"loss", "lr", "noise", "tokens", "const"}

// series returns a named realistic series of n points logged at steps 0..n-1.
func series(name string, n int) Points {
	rng := rand.New(rand.NewPCG(1, 2))
	p := Points{Steps: make([]int64, n), Times: realisticTimes(rng, n), Values: make([]float64, n)}
	tokens := 0.0
	for i := range n {
		p.Steps[i] = int64(i)
		s := float64(i)
		switch name {
		case "loss": // float32 training loss, as frameworks log it
			p.Values[i] = float64(float32(3*math.Exp(-s/1000) + 0.5 + 0.05*rng.NormFloat64()))
		case "lr": // cosine schedule with linear warmup
			p.Values[i] = 3e-4 * min(1, s/200) * 0.5 * (1 + math.Cos(math.Pi*s/float64(n)))
		case "noise":
			p.Values[i] = rng.NormFloat64()
		case "tokens": // tokens seen: 32 sequences of up to 512 tokens a step
			p.Values[i] = tokens
			tokens += float64(32*512 - rng.IntN(512))
		case "const":
			p.Values[i] = 0.1
		default:
			panic("unknown series " + name)
		}
	}
	return p
}

// equalPoints reports whether got and want hold the same points, comparing
// values by bit pattern so NaN payloads and -0 count.
func equalPoints(t testing.TB, got, want Points) {
	t.Helper()
	if got.Len() != want.Len() || len(got.Times) != len(want.Times) || len(got.Values) != len(want.Values) {
		t.Fatalf("got %d/%d/%d points, want %d", len(got.Steps), len(got.Times), len(got.Values), want.Len())
	}
	for i := range want.Steps {
		if got.Steps[i] != want.Steps[i] || got.Times[i] != want.Times[i] ||
			math.Float64bits(got.Values[i]) != math.Float64bits(want.Values[i]) {
			t.Fatalf("point %d: got (%d, %d, %#x), want (%d, %d, %#x)", i,
				got.Steps[i], got.Times[i], math.Float64bits(got.Values[i]),
				want.Steps[i], want.Times[i], math.Float64bits(want.Values[i]))
		}
	}
}

// decodeEqual decodes enc and checks that it holds p.
func decodeEqual(t testing.TB, enc []byte, p Points) {
	t.Helper()
	var got Points
	if err := DecodeChunk(enc, &got); err != nil {
		t.Fatalf("DecodeChunk: %v (chunk %x)", err, enc)
	}
	equalPoints(t, got, p)
	if n, err := ChunkLen(enc); err != nil || n != p.Len() {
		t.Fatalf("ChunkLen = %d, %v; want %d, nil", n, err, p.Len())
	}
}

// roundTrip encodes p with AppendChunk and checks that it decodes to p. It
// also encodes p with every codec forced, checks that each decodes to p,
// that the codec's cost is the number of bits its encoder writes, and that
// none is shorter than the chunk AppendChunk chose.
func roundTrip(t testing.TB, p Points) []byte {
	t.Helper()
	enc := AppendChunk(nil, p)
	decodeEqual(t, enc, p)
	cs, costs := deltaCodecs(p.Values)
	all := append([]codec{{id: codecXOR}}, cs[:]...)
	allCosts := append([]int{xorCost(p.Values)}, costs[:]...)
	for i, c := range all {
		forced := appendChunk(nil, p, c)
		decodeEqual(t, forced, p)
		if len(forced) < len(enc) {
			t.Fatalf("codec %+v: %d bytes, shorter than the %d bytes chosen", c, len(forced), len(enc))
		}
		if p.Len() == 0 {
			continue
		}
		var w bitWriter
		if c.id == codecXOR {
			w = appendXOR(w, p.Values)
		} else {
			w = appendDelta(w, p.Values, c)
		}
		if n := len(w.buf)*8 + int(w.n); n != allCosts[i] {
			t.Fatalf("codec %+v writes %d bits, cost says %d", c, n, allCosts[i])
		}
	}
	return enc
}

// points builds Points from steps and values, with times derived from steps.
func points(steps []int64, values []float64) Points {
	p := Points{}
	for i, s := range steps {
		p.Append(s, 1_700_000_000_000+s*1000, values[i%len(values)])
	}
	return p
}

// curve returns n points at steps 0..n-1 with values f(0)..f(n-1).
func curve(n int, f func(i int) float64) Points {
	p := Points{}
	for i := range n {
		p.Append(int64(i), 1_700_000_000_000+int64(i)*50, f(i))
	}
	return p
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	nan1 := math.Float64frombits(0x7ff8_0000_0000_0001)   // quiet NaN with payload
	snan := math.Float64frombits(0x7ff0_0000_0000_0001)   // signalling NaN
	negNaN := math.Float64frombits(0xfff8_dead_beef_0000) // negative NaN with payload
	one := []float64{1}
	// Steps and times whose delta-of-deltas are exactly the bucket edges.
	var dodEdges Points
	var s, delta int64
	for _, dod := range []int64{0, 1, -1, 63, -64, 64, -65, 8191, -8192, 8192, -8193,
		1<<23 - 1, -1 << 23, 1 << 23, -1<<23 - 1, 1 << 40, -1 << 50, math.MinInt64, 0} {
		dodEdges.Append(s, 1_700_000_000_000-s, 1)
		delta += dod
		s += delta
	}
	type test struct {
		name string
		p    Points
	}
	tests := []test{
		{"empty", Points{}},
		{"one", points([]int64{7}, []float64{0.25})},
		{"two", points([]int64{0, 1}, []float64{1, 2})},
		{"repeated steps", points([]int64{5, 5, 5, 5, 6, 6}, []float64{1, 1, 2})},
		{"backwards steps", points([]int64{10, 9, 3, 100, -5, -5, 2}, []float64{-1, 1})},
		{"negative steps", points([]int64{-1000, -999, -998, -1 << 62}, one)},
		{"int64 extremes", points([]int64{math.MaxInt64, math.MinInt64, 0, math.MaxInt64, math.MinInt64,
			math.MinInt64, -1, math.MaxInt64}, one)},
		{"dod bucket edges", dodEdges},
		{"special values", points([]int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, []float64{
			math.NaN(), nan1, snan, negNaN, math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0,
			math.SmallestNonzeroFloat64, -math.MaxFloat64, math.MaxFloat64, nan1, nan1})},
		{"xor 64 meaningful bits", points([]int64{0, 1, 2, 3}, []float64{
			0, math.Float64frombits(^uint64(0)), 0, math.Float64frombits(1<<63 | 1)})},
		{"xor over 31 leading zeros", points([]int64{0, 1, 2, 3, 4}, []float64{
			1, math.Nextafter(1, 2), 1, math.Float64frombits(math.Float64bits(1) ^ 1<<40), 1})},
		{"ramp", curve(300, func(i int) float64 { return 0.001 * float64(i) })},
		{"ramp across zero", curve(300, func(i int) float64 { return -1 + float64(i)/128 })},
		{"ramp across exponents", curve(300, func(i int) float64 { return 0.3 + float64(i)/64 })},
		{"geometric", curve(300, func(i int) float64 { return 1e-3 * math.Pow(1.1, float64(i)) })},
		{"subnormal ramp", curve(50, func(i int) float64 { return float64(i-25) * math.SmallestNonzeroFloat64 })},
		{"sine", curve(500, func(i int) float64 { return math.Sin(float64(i) / 20) })},
		{"float32 sine", curve(500, func(i int) float64 { return float64(float32(math.Sin(float64(i) / 20))) })},
		{"epochs", curve(500, func(i int) float64 { return float64(i) / 1563 })},
		{"constant NaN", curve(20, func(int) float64 { return nan1 })},
		{"ramp into inf", curve(20, func(i int) float64 { return math.Float64frombits(0x7fef_ffff_ffff_fff0 + uint64(i)*8) })},
	}
	for _, name := range seriesNames {
		tests = append(tests, test{name, series(name, 1000)})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			roundTrip(t, tt.p)
		})
	}
}

func TestDodCode(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		dod  int64
		bits uint // 0 for the raw form
	}{
		{0, 1}, {1, 9}, {63, 9}, {-64, 9}, {64, 17}, {-65, 17}, {8191, 17}, {-8192, 17},
		{8192, 28}, {-8193, 28}, {1<<23 - 1, 28}, {-1 << 23, 28},
		{1 << 23, 0}, {-1<<23 - 1, 0}, {math.MaxInt64, 0}, {math.MinInt64, 0},
	} {
		if _, n := dodCode(tt.dod); n != tt.bits {
			t.Errorf("dodCode(%d) takes %d bits, want %d", tt.dod, n, tt.bits)
		}
	}
}

// TestChooseWidths checks chooseWidths against a search of every pair.
func TestChooseWidths(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 200 {
		var h [histLen]int
		for range i % 20 {
			h[rng.IntN(histLen)] += rng.IntN(100)
		}
		want := math.MaxInt
		for w1 := range histLen {
			for w2 := range histLen {
				c := 0
				for l, n := range h {
					switch {
					case l <= w1:
						c += n * (1 + w1)
					case l <= w2:
						c += n * (2 + w2)
					default:
						c += n * (8 + l - 1)
					}
				}
				want = min(want, c)
			}
		}
		if _, _, got := chooseWidths(&h); got != want {
			t.Fatalf("histogram %v: cost %d, want %d", h, got, want)
		}
	}
}

func TestDecodeAppends(t *testing.T) {
	t.Parallel()
	a, b := series("loss", 100), series("noise", 50)
	var got Points
	for _, p := range []Points{a, b} {
		if err := DecodeChunk(AppendChunk(nil, p), &got); err != nil {
			t.Fatal(err)
		}
	}
	var want Points
	for _, p := range []Points{a, b} {
		for i := range p.Len() {
			want.Append(p.Steps[i], p.Times[i], p.Values[i])
		}
	}
	equalPoints(t, got, want)

	// A failed decode leaves dst as it was.
	enc := AppendChunk(nil, a)
	if err := DecodeChunk(enc[:len(enc)-1], &got); err == nil {
		t.Fatal("truncated chunk decoded")
	}
	equalPoints(t, got, want)
}

func TestDecodeCorrupt(t *testing.T) {
	t.Parallel()
	xor := appendChunk(nil, series("loss", 200), codec{id: codecXOR})
	delta := AppendChunk(nil, series("lr", 200))
	if delta[0] == formatVersion<<4|codecXOR {
		t.Fatal("lr chunk is not delta coded")
	}
	for _, valid := range [][]byte{xor, delta} {
		for n := range len(valid) {
			if err := DecodeChunk(valid[:n], &Points{}); !errors.Is(err, ErrCorruptChunk) {
				t.Fatalf("prefix of %d/%d bytes: err = %v, want ErrCorruptChunk", n, len(valid), err)
			}
		}
	}
	hugeCount := binary.AppendUvarint([]byte{0x10}, 1<<40)
	hugeCount = append(hugeCount, xor[3:]...)
	tests := []struct {
		name string
		data []byte
	}{
		{"no bytes", nil},
		{"format version 0", []byte{0x00, 0}},
		{"format version 2", []byte{0x20, 0}},
		{"unknown codec", []byte{0x15, 0}},
		{"trailing byte", append(xor[:len(xor):len(xor)], 0)},
		{"bytes after empty chunk", []byte{0x10, 0, 0}},
		{"count overflows uvarint", []byte{0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"count larger than data", hugeCount},
		{"max count", binary.AppendUvarint([]byte{0x10}, math.MaxUint64)},
		{"bad first step", []byte{0x10, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"truncated first value", []byte{0x10, 1, 0x80, 0x01, 0, 1, 2, 3, 4, 5, 6, 7}},
		// Two points: zero dods ('0','0') then a window reuse ('10') with no window.
		{"reuse before window", []byte{0x10, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0b0010_0000}},
		// '11' with 31 leading and 0 (=64) meaningful bits: 95 > 64.
		{"window too wide", []byte{0x10, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0b0011_1111, 0b1000_0000, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		// Two points, all zero deltas and the same value: 3 bits, then a set padding bit.
		{"non-zero padding", []byte{0x10, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0b0000_0001}},
		// A raw step dod ('1111') whose 64 bits run past the end.
		{"raw dod past end", []byte{0x10, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0}},
		{"truncated delta parameters", []byte{0x11, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"delta shift 64", []byte{0x11, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0}},
		{"delta width 65", []byte{0x14, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 65}},
		// '0', '0', then a '11' residual of 63 more bits that run past the end.
		{"delta escape past end", []byte{0x12, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0b0011_1111, 0b1100_0000}},
		// '0', '0', a residual '0' of width 0, then a set padding bit.
		{"delta non-zero padding", []byte{0x13, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0b0001_0000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dst := Points{}
			err := DecodeChunk(tt.data, &dst)
			if !errors.Is(err, ErrCorruptChunk) {
				t.Fatalf("err = %v, want ErrCorruptChunk", err)
			}
			if dst.Len() != 0 {
				t.Fatalf("dst has %d points after error", dst.Len())
			}
		})
	}
	for _, data := range [][]byte{hugeCount, {0x20, 0}, {0x1f, 0}} {
		if _, err := ChunkLen(data); !errors.Is(err, ErrCorruptChunk) {
			t.Fatalf("ChunkLen(%x) err = %v, want ErrCorruptChunk", data, err)
		}
	}
}

func TestPoints(t *testing.T) {
	t.Parallel()
	p := series("loss", 10)
	s := p.Slice(2, 5)
	if s.Len() != 3 || s.Steps[0] != 2 || s.Times[2] != p.Times[4] || s.Values[1] != p.Values[3] {
		t.Fatalf("Slice(2, 5) = %+v", s)
	}
	s.Append(-1, -1, -1) // must not overwrite p's point 5
	if p.Steps[5] != 5 {
		t.Fatalf("append to slice overwrote parent: step %d", p.Steps[5])
	}
	c := cap(p.Steps)
	p.Reset()
	if p.Len() != 0 || cap(p.Steps) != c {
		t.Fatalf("after Reset: len %d cap %d, want 0 %d", p.Len(), cap(p.Steps), c)
	}
}

// TestNoAllocs is not parallel: AllocsPerRun counts the allocations of
// every goroutine.
func TestNoAllocs(t *testing.T) {
	for _, name := range []string{"loss", "lr"} {
		p := series(name, 4096)
		enc := AppendChunk(nil, p)
		buf := make([]byte, 0, len(enc))
		if n := testing.AllocsPerRun(10, func() { buf = AppendChunk(buf[:0], p) }); n != 0 {
			t.Errorf("%s: AppendChunk into a large enough buffer: %v allocs, want 0", name, n)
		}
		dst := Points{Steps: make([]int64, 0, 4096), Times: make([]int64, 0, 4096), Values: make([]float64, 0, 4096)}
		n := testing.AllocsPerRun(10, func() {
			dst.Reset()
			if err := DecodeChunk(enc, &dst); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("%s: DecodeChunk into a pre-sized Points: %v allocs, want 0", name, n)
		}
	}
}

// codecNames name the codecs by id.
var codecNames = []string{"xor", "delta1", "delta2", "delta3", "delta4"}

// TestCompressionReport logs the size of the realistic series; run it with
// -v to see the table. It fails if the sizes regress far from those measured.
func TestCompressionReport(t *testing.T) {
	t.Parallel()
	const n = 4096
	t.Logf("%-6s %-6s %8s %11s", "series", "codec", "bytes", "bytes/point")
	var lossLR float64
	for _, c := range []struct {
		name string
		max  float64 // bytes/point, with some slack over the measured size
	}{{"loss", 4.2}, {"lr", 3.4}, {"noise", 9}, {"tokens", 2.8}, {"const", 1.5}} {
		enc := roundTrip(t, series(c.name, n))
		bpp := float64(len(enc)) / n
		t.Logf("%-6s %-6s %8d %11.3f", c.name, codecNames[enc[0]&15], len(enc), bpp)
		if bpp > c.max {
			t.Errorf("%s: %.3f bytes/point, want ≤ %v", c.name, bpp, c.max)
		}
		if c.name == "loss" || c.name == "lr" {
			lossLR += bpp / 2
		}
	}
	t.Logf("loss and lr: %.3f bytes/point on average (goal ≤ 6)", lossLR)
}

// pointsFromBytes turns fuzz input into points. Each point starts with a
// control byte choosing, per column, a small change from the previous point
// or raw bytes, so the fuzzer reaches every bucket and code. Values change
// by a slope that the control byte can bend, which makes the smooth runs
// the delta codecs are for.
func pointsFromBytes(data []byte) Points {
	var p Points
	var step, tm int64
	var val, slope uint64
	take := func(n int) uint64 {
		var b [8]byte
		k := copy(b[:n], data)
		data = data[k:]
		return binary.LittleEndian.Uint64(b[:])
	}
	for len(data) > 0 {
		c := data[0]
		data = data[1:]
		if c&1 != 0 {
			step += int64(int8(take(1)))
		} else {
			step = int64(take(8))
		}
		if c&2 != 0 {
			tm += int64(int16(take(2)))
		} else {
			tm = int64(take(8))
		}
		switch (c >> 2) & 3 {
		case 0:
			val += slope
		case 1:
			slope += uint64(int8(take(1))) << ((c >> 4) * 4)
			val += slope
		case 2:
			val, slope = take(8), 0
		case 3:
			val, slope = math.Float64bits(float64(math.Float32frombits(uint32(take(4))))), 0
		}
		p.Append(step, tm, math.Float64frombits(val))
	}
	return p
}

func FuzzChunkRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x0f, 1, 2, 3, 0x0f, 1, 2, 3, 0x07, 0, 0, 0, 0, 0, 0xf8, 0x7f})
	f.Add([]byte{0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x03, 0x03})
	f.Add([]byte{0xb7, 1, 0, 0, 3, 0x5, 2, 0, 0x03, 0, 0, 0x03, 0, 0, 0xd7, 1, 0, 0, 0xff, 0x03, 0, 0, 0x03, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		roundTrip(t, pointsFromBytes(data))
	})
}

func FuzzChunkDecode(f *testing.F) {
	for _, name := range seriesNames {
		p := series(name, 20)
		f.Add(AppendChunk(nil, p))
		cs, _ := deltaCodecs(p.Values)
		f.Add(appendChunk(nil, p, cs[1]))
	}
	f.Add(AppendChunk(nil, pointsFromBytes([]byte{0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0x1b, 3})))
	f.Add([]byte{0x10, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Points
		err := DecodeChunk(data, &p)
		n, lenErr := ChunkLen(data)
		if err != nil {
			if !errors.Is(err, ErrCorruptChunk) {
				t.Fatalf("error %v does not wrap ErrCorruptChunk", err)
			}
			if p.Len() != 0 {
				t.Fatalf("%d points left in dst after error", p.Len())
			}
			return
		}
		if lenErr != nil || n != p.Len() {
			t.Fatalf("ChunkLen = %d, %v; DecodeChunk gave %d points", n, lenErr, p.Len())
		}
		// Re-encoding the decoded points must give the same points back.
		roundTrip(t, p)
	})
}

func BenchmarkChunkEncode(b *testing.B) { benchmarkChunk(b, false) }
func BenchmarkChunkDecode(b *testing.B) { benchmarkChunk(b, true) }

// benchmarkChunk times encoding or decoding a 4096-point chunk of each of
// the realistic series.
func benchmarkChunk(b *testing.B, decode bool) {
	for _, name := range seriesNames {
		b.Run(name, func(b *testing.B) {
			p := series(name, 4096)
			enc := AppendChunk(nil, p)
			dst := Points{Steps: make([]int64, 0, 4096), Times: make([]int64, 0, 4096), Values: make([]float64, 0, 4096)}
			b.SetBytes(int64(p.Len()) * 24)
			for b.Loop() {
				if !decode {
					enc = AppendChunk(enc[:0], p)
					continue
				}
				dst.Reset()
				if err := DecodeChunk(enc, &dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*p.Len()), "ns/point")
			b.ReportMetric(float64(len(enc))/float64(p.Len()), "B/point")
		})
	}
}

// ExampleAppendChunk shows the encoding of the three-point chunk used as the
// first worked example in docs/chunk-format.md.
func ExampleAppendChunk() {
	var p Points
	p.Append(0, 1_700_000_000_000, 2.5)
	p.Append(1, 1_700_000_000_050, 2.25)
	p.Append(2, 1_700_000_000_103, 2.25)
	fmt.Printf("% x\n", AppendChunk(nil, p))
	// Output:
	// 10 03 00 80 a0 ab fe f9 62 00 00 00 00 00 00 04 40 80 cc 90 3d a1 60
}

// ExampleAppendChunk_delta shows the encoding of the delta-coded chunk used
// as the second worked example in docs/chunk-format.md.
func ExampleAppendChunk_delta() {
	var p Points
	for i, v := range []float64{1, 1.25, 1.5, 1.75, 2} {
		p.Append(int64(i), 1_700_000_000_000+50*int64(i), v)
	}
	fmt.Printf("% x\n", AppendChunk(nil, p))
	// Output:
	// 12 05 00 80 a0 ab fe f9 62 00 00 00 00 00 00 f0 3f 32 00 02 80 cc 80 90
}
