package runfmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the .runlog fixtures from the .jsonl dumps")

// The fixtures are pairs: NAME.jsonl describes records in a language-neutral
// form and NAME.runlog holds the bytes every writer must produce for them.
// Writers in other languages (clients/python) are tested against the same
// pairs.
var fixtures = []string{"basic", "resume", "media"}

// dumpRecord is one line of a .jsonl fixture.
type dumpRecord struct {
	Seq    uint64  `json:"seq"`
	Type   string  `json:"type"`
	JSON   string  `json:"json,omitempty"`   // exact payload of JSON records
	ID     *uint32 `json:"id,omitempty"`     // key
	Name   string  `json:"name,omitempty"`   // key
	Step   *int64  `json:"step,omitempty"`   // metrics
	Time   *any    `json:"time,omitempty"`   // metrics, heartbeat
	Values [][]any `json:"values,omitempty"` // metrics: [key id, value]
}

// dumpFloat reads a fixture number: a JSON number or one of "NaN",
// "Infinity", "-Infinity". NaN is the quiet NaN 0x7FF8000000000000.
func dumpFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		switch x {
		case "NaN":
			return math.Float64frombits(0x7FF8000000000000)
		case "Infinity":
			return math.Inf(1)
		case "-Infinity":
			return math.Inf(-1)
		}
	}
	panic(fmt.Sprintf("not a fixture number: %#v", v))
}

func dumpNumber(f float64) any {
	if s, ok := nonFiniteName(f); ok {
		return s
	}
	return f
}

func readDump(t *testing.T, name string) []dumpRecord {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var recs []dumpRecord
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var d dumpRecord
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("%s.jsonl: %v: %s", name, err, line)
		}
		recs = append(recs, d)
	}
	return recs
}

// encodeDump writes the records of a dump with this package's writer.
func encodeDump(t *testing.T, recs []dumpRecord) []byte {
	t.Helper()
	out := []byte(Magic)
	for _, d := range recs {
		typ, ok := ParseType(d.Type)
		if !ok {
			t.Fatalf("unknown type %q", d.Type)
		}
		switch typ {
		case TypeKey:
			out = appendKey(out, d.Seq, *d.ID, d.Name)
		case TypeMetrics:
			var ids []uint32
			var vals []float64
			for _, p := range d.Values {
				ids = append(ids, uint32(p[0].(float64)))
				vals = append(vals, dumpFloat(p[1]))
			}
			out = appendMetrics(out, d.Seq, *d.Step, dumpFloat(*d.Time), ids, vals)
		case TypeHeartbeat:
			out = appendHeartbeat(out, d.Seq, dumpFloat(*d.Time))
		default:
			out = appendRecord(out, typ, d.Seq, []byte(d.JSON))
		}
	}
	return out
}

// decodeDump reads a run.log into the dump form.
func decodeDump(t *testing.T, data []byte) []dumpRecord {
	t.Helper()
	r := NewReader(bytes.NewReader(data), "fixture")
	var recs []dumpRecord
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return recs
		}
		if err != nil {
			t.Fatal(err)
		}
		d := dumpRecord{Seq: rec.Seq, Type: rec.Type.String()}
		switch rec.Type {
		case TypeKey:
			id, name, err := rec.Key()
			if err != nil {
				t.Fatal(err)
			}
			d.ID, d.Name = &id, name
		case TypeMetrics:
			m, err := rec.Metrics()
			if err != nil {
				t.Fatal(err)
			}
			var tm any = dumpNumber(m.Time)
			d.Step, d.Time = &m.Step, &tm
			for i := 0; i < m.Len(); i++ {
				k, v := m.At(i)
				d.Values = append(d.Values, []any{float64(k), dumpNumber(v)})
			}
		case TypeHeartbeat:
			hb, err := rec.Heartbeat()
			if err != nil {
				t.Fatal(err)
			}
			var tm any = dumpNumber(hb)
			d.Time = &tm
		default:
			d.JSON = string(rec.Payload)
		}
		recs = append(recs, d)
	}
}

// TestFixturesWrite is not parallel: with -update it rewrites the fixtures
// that the other tests read.
func TestFixturesWrite(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			got := encodeDump(t, readDump(t, name))
			path := filepath.Join("testdata", name+".runlog")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("writer output differs from %s (%d vs %d bytes); run go test -update if the format changed on purpose", path, len(got), len(want))
			}
		})
	}
}

func TestFixturesRead(t *testing.T) {
	t.Parallel()
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join("testdata", name+".runlog"))
			if err != nil {
				t.Fatal(err)
			}
			got := decodeDump(t, data)
			want := readDump(t, name)
			if len(got) != len(want) {
				t.Fatalf("read %d records, want %d", len(got), len(want))
			}
			for i := range want {
				g, _ := json.Marshal(got[i])
				w, _ := json.Marshal(want[i])
				if !bytes.Equal(g, w) {
					t.Errorf("record %d:\n got %s\nwant %s", i, g, w)
				}
			}
		})
	}
}

// TestFixtureValuesExact checks the bits of non-finite and signed-zero values,
// which a JSON comparison would blur.
func TestFixtureValuesExact(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/basic.runlog")
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64][]uint64{
		2: {0x7FF8000000000000, math.Float64bits(math.Copysign(0, -1)), math.Float64bits(math.Inf(1))},
		3: {math.Float64bits(math.Inf(-1)), math.Float64bits(1e-300), math.Float64bits(math.MaxFloat64)},
	}
	r := NewReader(bytes.NewReader(data), "basic")
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		if rec.Type != TypeMetrics {
			continue
		}
		m, _ := rec.Metrics()
		w, ok := want[m.Step]
		if !ok {
			continue
		}
		for i := 0; i < m.Len(); i++ {
			if _, v := m.At(i); math.Float64bits(v) != w[i] {
				t.Errorf("step %d value %d: bits %#x, want %#x", m.Step, i, math.Float64bits(v), w[i])
			}
		}
		delete(want, m.Step)
	}
	if len(want) != 0 {
		t.Errorf("steps not found: %v", want)
	}
}

func TestScanFixture(t *testing.T) {
	t.Parallel()
	st, err := Scan("testdata/resume.runlog")
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat("testdata/resume.runlog")
	want := State{
		Header:   Header{Format: 1, ID: "r7m2q4zz", Name: "resumed", Project: "tinystories", Time: 1764201600, Writer: "fixture"},
		Keys:     map[string]uint32{"train_loss": 0},
		NextKey:  1,
		LastSeq:  13,
		LastStep: 5,
		Status:   StatusFinished,
		End:      fi.Size(),
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("Scan:\n got %+v\nwant %+v", st, want)
	}
}

// TestScanTornTail checks the torn-tail handling a resuming writer
// relies on: Scan reports where good data ends.
func TestScanTornTail(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/basic.runlog")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "run.log")
	if err := os.WriteFile(path, data[:len(data)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := Scan(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.LastSeq != 17 || st.Torn == 0 || st.End+st.Torn != int64(len(data)-3) {
		t.Errorf("Scan of torn file: last seq %d, end %d, torn %d (file %d bytes)", st.LastSeq, st.End, st.Torn, len(data)-3)
	}
	if st.Status != StatusRunning {
		t.Errorf("status %q, want running (the status record was torn)", st.Status)
	}
}
