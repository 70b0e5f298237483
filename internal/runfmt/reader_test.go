package runfmt

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"testing"
	"testing/iotest"
)

type readResult struct {
	seqs    []uint64
	skipped []Corruption
	torn    int64
	good    int64
}

func readAll(t testing.TB, r *Reader) readResult {
	t.Helper()
	var res readResult
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		res.seqs = append(res.seqs, rec.Seq)
	}
	res.skipped, res.torn, res.good = r.Skipped(), r.Torn(), r.Offset()
	return res
}

// recordEnds returns the offset just after each record of a good log.
func recordEnds(t *testing.T, data []byte) []int64 {
	t.Helper()
	r := NewReader(bytes.NewReader(data), "x")
	var ends []int64
	for {
		rec, err := r.Next()
		if err != nil {
			return ends
		}
		ends = append(ends, rec.Offset+rec.Size())
	}
}

// TestTornAtEveryOffset cuts a fixture at every byte and checks that every
// complete record is read and the rest is reported as a torn tail.
func TestTornAtEveryOffset(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/basic.runlog")
	if err != nil {
		t.Fatal(err)
	}
	ends := recordEnds(t, data)
	for cut := 0; cut <= len(data); cut++ {
		res := readAll(t, NewReader(bytes.NewReader(data[:cut]), "cut"))
		complete := 0
		for _, e := range ends {
			if e <= int64(cut) {
				complete++
			}
		}
		if len(res.seqs) != complete {
			t.Fatalf("cut at %d: read %d records, want %d", cut, len(res.seqs), complete)
		}
		if len(res.skipped) != 0 {
			t.Fatalf("cut at %d: skipped %v, a torn tail is not corruption", cut, res.skipped)
		}
		if res.good+res.torn != int64(cut) && cut >= len(Magic) {
			t.Fatalf("cut at %d: good %d + torn %d do not cover the file", cut, res.good, res.torn)
		}
	}
}

func TestCorruptMiddleRecordSkipped(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/basic.runlog")
	if err != nil {
		t.Fatal(err)
	}
	ends := recordEnds(t, data)
	// Record 8 (seq 8) spans ends[6]..ends[7].
	start, end := ends[6], ends[7]
	tests := []struct {
		name   string
		mangle func(b []byte)
	}{
		{"payload bit flip", func(b []byte) { b[end-3] ^= 0x10 }},
		{"checksum", func(b []byte) { b[start+5] ^= 0xff }},
		{"length too large", func(b []byte) { b[start+3] = 0x7f }},
		{"length too small", func(b []byte) { b[start], b[start+1], b[start+2], b[start+3] = 2, 0, 0, 0 }},
		{"zeroed", func(b []byte) { clear(b[start:end]) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := bytes.Clone(data)
			tt.mangle(b)
			res := readAll(t, NewReader(bytes.NewReader(b), "basic.runlog"))
			if len(res.seqs) != 17 {
				t.Fatalf("read %d records (%v), want 17", len(res.seqs), res.seqs)
			}
			for _, s := range res.seqs {
				if s == 8 {
					t.Fatalf("corrupt record 8 was returned")
				}
			}
			if len(res.skipped) != 1 || res.skipped[0].Offset != start || res.skipped[0].Length != end-start {
				t.Fatalf("skipped %+v, want one region at %d of %d bytes", res.skipped, start, end-start)
			}
			if msg := res.skipped[0].Error(); !bytes.Contains([]byte(msg), []byte("basic.runlog: offset")) {
				t.Errorf("warning %q does not name file and offset", msg)
			}
			if res.torn != 0 || res.good != int64(len(b)) {
				t.Errorf("torn %d good %d, want 0 and %d", res.torn, res.good, len(b))
			}
		})
	}
}

func TestReaderSmallReads(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/basic.runlog")
	if err != nil {
		t.Fatal(err)
	}
	res := readAll(t, NewReader(iotest.OneByteReader(bytes.NewReader(data)), "x"))
	if len(res.seqs) != 18 || res.good != int64(len(data)) {
		t.Fatalf("one-byte reads: %d records, good %d", len(res.seqs), res.good)
	}
}

func TestReaderAtContinues(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/basic.runlog")
	if err != nil {
		t.Fatal(err)
	}
	ends := recordEnds(t, data)
	off := ends[9]
	res := readAll(t, NewReaderAt(bytes.NewReader(data[off:]), "x", off))
	if len(res.seqs) != 8 || res.seqs[0] != 11 || res.good != int64(len(data)) {
		t.Fatalf("from %d: seqs %v good %d", off, res.seqs, res.good)
	}
}

func TestNotRunLog(t *testing.T) {
	t.Parallel()
	_, err := NewReader(bytes.NewReader([]byte("step,loss\n0,1\n")), "metrics.csv").Next()
	if !errors.Is(err, ErrNotRunLog) {
		t.Fatalf("err = %v, want ErrNotRunLog", err)
	}
}

func TestLargeRecordAcrossBuffer(t *testing.T) {
	t.Parallel()
	out := []byte(Magic)
	big := bytes.Repeat([]byte("x"), 3*readChunk)
	out = appendRecord(out, TypeConfig, 1, []byte(`{"blob":"`+string(big)+`"}`))
	out = appendHeartbeat(out, 2, 1.5)
	res := readAll(t, NewReader(bytes.NewReader(out), "big"))
	if len(res.seqs) != 2 || res.good != int64(len(out)) {
		t.Fatalf("read %v, good %d of %d", res.seqs, res.good, len(out))
	}
}

func TestMarshalJSONNonFinite(t *testing.T) {
	t.Parallel()
	got, err := MarshalJSON(map[string]any{"a": math.NaN(), "b": []any{math.Inf(1), 1.5}, "c": "<x>"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":"NaN","b":["Infinity",1.5],"c":"<x>"}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestCheckKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key string
		ok  bool
	}{
		{"train_loss", true},
		{"val/loss", true},
		{"loss with spaces", true},
		{"ünïcode/λ", true},
		{"", false},
		{string(bytes.Repeat([]byte("k"), MaxKeyLen)), true},
		{string(bytes.Repeat([]byte("k"), MaxKeyLen+1)), false},
		{"tab\tkey", false},
		{"bad\xffutf8", false},
	}
	for _, tt := range tests {
		if err := CheckKey(tt.key); (err == nil) != tt.ok {
			t.Errorf("CheckKey(%.20q) = %v, want ok=%v", tt.key, err, tt.ok)
		}
	}
}

func FuzzReader(f *testing.F) {
	for _, name := range fixtures {
		data, err := os.ReadFile("testdata/" + name + ".runlog")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), "fuzz")
		last := int64(-1)
		for {
			rec, err := r.Next()
			if err != nil {
				break
			}
			if rec.Offset <= last || rec.Offset+rec.Size() > int64(len(data)) {
				t.Fatalf("record at %d (last %d) out of order or past the end", rec.Offset, last)
			}
			last = rec.Offset
			switch rec.Type { // decoders must not panic on any payload
			case TypeMetrics:
				if m, err := rec.Metrics(); err == nil {
					for i := 0; i < m.Len(); i++ {
						m.At(i)
					}
				}
			case TypeKey:
				rec.Key()
			case TypeHeartbeat:
				rec.Heartbeat()
			default:
				var v any
				rec.DecodeJSON(&v)
			}
		}
		if r.Offset() > int64(len(data)) {
			t.Fatalf("offset %d past end %d", r.Offset(), len(data))
		}
	})
}
