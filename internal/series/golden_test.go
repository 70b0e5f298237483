package series

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden chunks in testdata/")

// integrated returns n points whose values' bit patterns have the k-th
// order differences base, r(1)<<shift, r(2)<<shift, …: the curves the delta
// codec of order k is for. k = 0 gives the bit patterns r(i)<<shift
// themselves.
func integrated(n, k int, base uint64, shift uint, r func(i int) int64) Points {
	d := make([]int64, k+1) // d[j]: the current difference of order j
	d[0] = int64(base)
	p := Points{}
	for i := range n {
		if i > 0 {
			d[k] = r(i) << shift
			for j := k - 1; j >= 0; j-- {
				d[j] += d[j+1]
			}
		}
		p.Append(int64(i), 1_700_000_000_000+int64(i)*50+int64(i%3), math.Float64frombits(uint64(d[0])))
	}
	return p
}

// smallResiduals is a fixed sequence of small residuals, -5 to 5, with an outlier at
// every 23rd point so that all three residual forms occur.
func smallResiduals(i int) int64 {
	if i%23 == 0 {
		return 1<<20 + int64(i)
	}
	return int64(i*7%11) - 5
}

// goldenChunks are the fixed inputs of the golden chunk files, one for each
// encoding AppendChunk can choose (the codec is the low four bits of the
// chunk's first byte), and the edge cases of the layout: an empty chunk, a
// one-point chunk, and steps and times that take every delta-of-delta form.
var goldenChunks = []struct {
	name  string
	codec uint8
	p     Points
}{
	{"empty", codecXOR, Points{}},
	{"one", codecXOR, Points{Steps: []int64{math.MaxInt64}, Times: []int64{1_700_000_000_000}, Values: []float64{math.NaN()}}},
	// Every step and time code form, and XOR codes of every kind: an
	// unchanged value, a new window, a reused window, a 64-bit window.
	{"xor", codecXOR, func() Points {
		steps := []int64{0, 1, 2, 3, 100, 200, 20000, 1 << 30, 1<<30 + 1, -7, math.MaxInt64, math.MinInt64, 0, 0}
		values := []float64{2.5, 2.5, 2.25, 2.75, math.Inf(1), math.NaN(), math.Copysign(0, -1), 0, 1e-300,
			math.Float64frombits(^uint64(0)), -math.MaxFloat64, math.SmallestNonzeroFloat64, 3, 3}
		var p Points
		tm := int64(1_700_000_000_000)
		for i, s := range steps {
			tm += int64(i * i * i * 97)
			p.Append(s, tm, values[i])
		}
		return p
	}()},
	// A random walk of bit patterns near 1.
	{"delta1", 1, integrated(60, 1, math.Float64bits(1), 0, smallResiduals)},
	// float32 values on a curve with a jittered slope: residuals share the
	// 29 low zero bits of a widened float32.
	{"delta2", 2, integrated(60, 2, math.Float64bits(0.5), 29, smallResiduals)},
	{"delta3", 3, integrated(60, 3, math.Float64bits(3e-4), 4, smallResiduals)},
	{"delta4", 4, integrated(60, 4, math.Float64bits(-7), 0, smallResiduals)},
}

// TestGoldenChunks pins the on-disk format: each fixed input must encode to
// the bytes in testdata/<name>.golden, and those bytes must decode to it. A
// change to the encoder that changes these bytes changes what runlog
// writes; one that breaks decoding breaks every store written before.
// go test -update rewrites the files, which only a deliberate format change
// (documented in docs/chunk-format.md) should do.
func TestGoldenChunks(t *testing.T) {
	t.Parallel()
	seen := map[uint8]bool{}
	for _, tc := range goldenChunks {
		seen[tc.codec] = true
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			enc := roundTrip(t, tc.p)
			if got := enc[0] & 15; got != tc.codec {
				t.Errorf("AppendChunk chose codec %d (%s), want %d (%s)", got, codecNames[got], tc.codec, codecNames[tc.codec])
			}
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, formatHex(tc.name, tc.p.Len(), enc), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := readHex(path)
			if err != nil {
				t.Fatalf("%v (go test -update creates it)", err)
			}
			if !bytes.Equal(enc, want) {
				t.Errorf("AppendChunk gives bytes that differ from %s: the on-disk format changed\n got: % x\nwant: % x", path, enc, want)
			}
			decodeEqual(t, want, tc.p)
		})
	}
	for id := range uint8(maxDeltaOrder + 1) {
		if !seen[id] {
			t.Errorf("no golden chunk of codec %d (%s)", id, codecNames[id])
		}
	}
}

// formatHex writes a chunk as a golden file: a comment line, then the bytes
// in hex, 16 to a line.
func formatHex(name string, n int, b []byte) []byte {
	return hexFile(fmt.Sprintf("%s: %d points, %d bytes, codec %d (%s); see docs/chunk-format.md", name, n, len(b), b[0]&15, codecNames[b[0]&15]), b)
}

// hexFile is a golden file: the comment line head, then b in hex, 16
// bytes to a line.
func hexFile(head string, b []byte) []byte {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# %s\n", head)
	for i := 0; i < len(b); i += 16 {
		fmt.Fprintf(&buf, "% x\n", b[i:min(i+16, len(b))])
	}
	return buf.Bytes()
}

// readHex reads a golden file: hex bytes, with whitespace and '#' comment
// lines ignored.
func readHex(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var digits strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// TestGoldenChunksCoverCodes checks that the golden inputs together use
// every code of the format, as the encoder chooses them: each step and time
// delta-of-delta form, each XOR code (a 64-bit window among the new ones)
// and each residual form of the delta codecs.
func TestGoldenChunksCoverCodes(t *testing.T) {
	t.Parallel()
	used := map[string]bool{}
	dodForm := func(dod int64) string {
		_, n := dodCode(dod)
		return fmt.Sprintf("dod %d bits", n)
	}
	for _, tc := range goldenChunks {
		p := tc.p
		var stepDelta, timeDelta int64
		for i := 1; i < p.Len(); i++ {
			d := p.Steps[i] - p.Steps[i-1]
			used[dodForm(d-stepDelta)], stepDelta = true, d
			d = p.Times[i] - p.Times[i-1]
			used[dodForm(d-timeDelta)], timeDelta = true, d
		}
		if p.Len() < 2 {
			continue
		}
		if tc.codec == codecXOR {
			lead, trail, sig := uint(noWindow), uint(0), uint(0)
			for i := 1; i < p.Len(); i++ {
				x := math.Float64bits(p.Values[i]) ^ math.Float64bits(p.Values[i-1])
				if x == 0 {
					used["xor '0'"] = true
					continue
				}
				l, tr, reuse := xorWindow(x, lead, trail, sig)
				if reuse {
					used["xor '10'"] = true
					continue
				}
				lead, trail, sig = l, tr, 64-l-tr
				used["xor '11'"] = true
				used["xor '11' 64 bits"] = used["xor '11' 64 bits"] || sig == 64
			}
			continue
		}
		c := chooseCodec(p.Values)
		var d [maxDeltaOrder + 1]int64 // d[j]: the last difference of order j
		d[0] = int64(math.Float64bits(p.Values[0]))
		for i := 1; i < p.Len(); i++ {
			prev := d
			d[0] = int64(math.Float64bits(p.Values[i]))
			for j := 1; j <= int(c.id); j++ {
				d[j] = d[j-1] - prev[j-1]
			}
			switch l := uint(bits.Len64(zigzag(d[c.id] >> c.shift))); {
			case l <= uint(c.w1):
				used["delta '0'"] = true
			case l <= uint(c.w2):
				used["delta '10'"] = true
			default:
				used["delta '11'"] = true
			}
		}
	}
	for _, code := range []string{"dod 1 bits", "dod 9 bits", "dod 17 bits", "dod 28 bits", "dod 0 bits",
		"xor '0'", "xor '10'", "xor '11'", "xor '11' 64 bits", "delta '0'", "delta '10'", "delta '11'"} {
		if !used[code] {
			t.Errorf("no golden chunk uses the code %s", code)
		}
	}
}
