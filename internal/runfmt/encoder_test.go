package runfmt

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// encodeDumpWith writes the records of a dump with an Encoder, as a writer
// does: key ids come from Key, and must be the ones the dump gives.
func encodeDumpWith(t *testing.T, enc *Encoder, recs []dumpRecord) {
	t.Helper()
	for _, d := range recs {
		typ, ok := ParseType(d.Type)
		if !ok {
			t.Fatalf("unknown type %q", d.Type)
		}
		switch typ {
		case TypeKey:
			id, err := enc.Key(d.Name)
			if err != nil {
				t.Fatal(err)
			}
			if id != *d.ID {
				t.Fatalf("key %q got id %d, want %d", d.Name, id, *d.ID)
			}
		case TypeMetrics:
			enc.StartMetrics(*d.Step, dumpFloat(*d.Time))
			for _, p := range d.Values {
				enc.Pair(uint32(p[0].(float64)), dumpFloat(p[1]))
			}
			enc.FinishMetrics()
		case TypeHeartbeat:
			enc.Heartbeat(dumpFloat(*d.Time))
		default:
			enc.Record(typ, []byte(d.JSON))
		}
		if enc.Seq() != d.Seq {
			t.Fatalf("%s record got seq %d, want %d", d.Type, enc.Seq(), d.Seq)
		}
	}
}

// TestEncoderFixtures encodes the fixtures with an Encoder and compares
// the bytes with the fixture files.
func TestEncoderFixtures(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", name+".runlog"))
			if err != nil {
				t.Fatal(err)
			}
			enc := NewEncoder(0, nil)
			enc.buf = append(enc.buf, Magic...)
			encodeDumpWith(t, enc, readDump(t, name))
			if !bytes.Equal(enc.Bytes(), want) {
				t.Errorf("Encoder output differs from %s.runlog (%d vs %d bytes)", name, enc.Len(), len(want))
			}
		})
	}
}

func TestEncoderBegin(t *testing.T) {
	h := Header{Format: 1, ID: "k3v9x2ab", Time: 1764201600}
	want, _ := appendJSON([]byte(Magic), TypeHeader, 1, h)
	want = appendKey(want, 2, 0, "loss")
	tests := []struct {
		name string
		enc  *Encoder
	}{
		{"NewEncoder", NewEncoder(0, nil)},
		{"zero Encoder", new(Encoder)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.enc.Begin(h); err != nil {
				t.Fatal(err)
			}
			if _, err := tt.enc.Key("loss"); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(tt.enc.Bytes(), want) {
				t.Errorf("Begin and Key wrote %q, want %q", tt.enc.Bytes(), want)
			}
			if err := tt.enc.Begin(h); err == nil {
				t.Error("a second Begin was accepted")
			}
		})
	}
}

func TestEncoderRollback(t *testing.T) {
	tests := []struct {
		name     string
		encode   func(e *Encoder)
		wantSeq  uint64
		wantKeys map[string]uint32
	}{
		{"nothing", func(e *Encoder) {}, 2, map[string]uint32{"loss": 0}},
		{"new key and metrics", func(e *Encoder) {
			id, _ := e.Key("lr")
			e.Metrics(3, 1764201600, []uint32{id}, []float64{1e-3})
		}, 2, map[string]uint32{"loss": 0}},
		{"known key", func(e *Encoder) {
			id, _ := e.Key("loss")
			e.StartMetrics(3, 1764201600)
			e.Pair(id, 1)
			e.FinishMetrics()
			e.Heartbeat(1764201601)
		}, 2, map[string]uint32{"loss": 0}},
		{"refused JSON", func(e *Encoder) {
			if err := e.JSON(TypeSummary, map[string]any{"f": func() {}}); err == nil {
				t.Error("JSON of a func was accepted")
			}
		}, 2, map[string]uint32{"loss": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEncoder(1, nil)
			if _, err := e.Key("loss"); err != nil {
				t.Fatal(err)
			}
			committed := append([]byte(nil), e.Bytes()...)
			e.Commit()
			tt.encode(e)
			e.Rollback()
			if e.Seq() != tt.wantSeq || !reflect.DeepEqual(e.Keys(), tt.wantKeys) || !bytes.Equal(e.Bytes(), committed) {
				t.Errorf("after Rollback: seq %d, keys %v, %d bytes; want %d, %v, %d bytes",
					e.Seq(), e.Keys(), e.Len(), tt.wantSeq, tt.wantKeys, len(committed))
			}
			// The ids given back are given again.
			if id, _ := e.Key("other"); id != 1 {
				t.Errorf("the next new key got id %d, want 1", id)
			}
		})
	}
}

func TestEncoderKeys(t *testing.T) {
	e := NewEncoder(7, map[string]uint32{"a": 0, "b": 4})
	tests := []struct {
		key     string
		wantID  uint32
		wantSeq uint64
		wantErr bool
	}{
		{"b", 4, 7, false},
		{"c", 5, 8, false},
		{"c", 5, 8, false},
		{"", 0, 8, true},
		{"a\nb", 0, 8, true},
		{"d", 6, 9, false},
	}
	for _, tt := range tests {
		id, err := e.Key(tt.key)
		if (err != nil) != tt.wantErr || (err == nil && id != tt.wantID) || e.Seq() != tt.wantSeq {
			t.Errorf("Key(%q) = %d, %v (seq %d); want %d, error %v (seq %d)", tt.key, id, err, e.Seq(), tt.wantID, tt.wantErr, tt.wantSeq)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("Key(%q): %v does not wrap ErrInvalid", tt.key, err)
		}
	}
}

func TestEncoderTakePrepend(t *testing.T) {
	e := NewEncoder(0, nil)
	e.Heartbeat(1)
	first := e.Take(nil)
	e.Heartbeat(2)
	e.Prepend(first[4:]) // the writer wrote 4 bytes of the first record
	e.Rollback()         // taken and given back: committed
	if e.Len() != len(first)-4 {
		t.Fatalf("after Prepend and Rollback: %d bytes, want %d", e.Len(), len(first)-4)
	}
	if got := e.Take(nil); !bytes.Equal(got, first[4:]) {
		t.Errorf("Take after Prepend: %x, want %x", got, first[4:])
	}
}

// records reads a whole log for the tests.
func records(t *testing.T, path string) (seqs []uint64, types []Type, r *Reader) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r = NewReader(bytes.NewReader(data), path)
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return seqs, types, r
		}
		if err != nil {
			t.Fatal(err)
		}
		seqs, types = append(seqs, rec.Seq), append(types, rec.Type)
	}
}

func BenchmarkEncoderMetrics(b *testing.B) {
	e := NewEncoder(0, nil)
	keys := []string{"train_loss", "learning_rate", "tokens_per_sec", "grad_norm"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var ids [4]uint32
		for j, k := range keys {
			ids[j], _ = e.Key(k)
		}
		e.StartMetrics(int64(i), 1764201600)
		for _, id := range ids {
			e.Pair(id, 2.5)
		}
		e.FinishMetrics()
		if e.Len() > 1<<20 {
			e.Take(e.buf)
		}
	}
}
