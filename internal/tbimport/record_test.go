package tbimport

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// readAll reads every record of data.
func readAll(t testing.TB, data []byte) (recs [][]byte, r *Reader) {
	r = NewReader(bytes.NewReader(data), "test", 0)
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return recs, r
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, append([]byte(nil), rec...))
	}
}

func TestReader(t *testing.T) {
	t.Parallel()
	var file []byte
	var want [][]byte
	for i := range 50 {
		data := bytes.Repeat([]byte{byte(i)}, i*37)
		want = append(want, data)
		file = AppendRecord(file, data)
	}
	big := bytes.Repeat([]byte("x"), 3<<20) // larger than the read buffer
	want = append(want, big)
	file = AppendRecord(file, big)
	end := int64(len(file))

	tests := []struct {
		name      string
		file      []byte
		want      int   // records read
		skipped   int   // corrupt regions
		truncated int64 // offset of the truncated record, or -1
		offset    int64 // Offset at the end
	}{
		{"whole", file, 51, 0, -1, end},
		{"empty", nil, 0, 0, -1, 0},
		{"cut in a header", append(append([]byte(nil), file...), file[:7]...), 51, 0, end, end},
		{"cut in the data", append(append([]byte(nil), file...), AppendRecord(nil, []byte("hello"))[:15]...), 51, 0, end, end},
		{"bad length CRC", flip(file, 8), 50, 1, -1, end},
		{"bad data CRC", flip(file, 12), 50, 1, -1, end},
		{"garbage between", append(append(AppendRecord(nil, []byte("a")), "garbage"...), AppendRecord(nil, []byte("b"))...), 2, 1, -1, 17 + 7 + 17},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			recs, r := readAll(t, tt.file)
			if len(recs) != tt.want || len(r.Skipped()) != tt.skipped {
				t.Fatalf("read %d records, skipped %v; want %d records, %d skipped", len(recs), r.Skipped(), tt.want, tt.skipped)
			}
			if tt.name == "whole" {
				for i := range recs {
					if !bytes.Equal(recs[i], want[i]) {
						t.Fatalf("record %d differs", i)
					}
				}
			}
			tr := r.Truncated()
			switch {
			case tt.truncated < 0 && tr != nil:
				t.Errorf("truncated %v; want none", tr)
			case tt.truncated >= 0 && (tr == nil || tr.Offset != tt.truncated):
				t.Errorf("truncated %v; want at offset %d", tr, tt.truncated)
			}
			if r.Offset() != tt.offset {
				t.Errorf("Offset %d; want %d", r.Offset(), tt.offset)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	out := append([]byte(nil), b...)
	out[i] ^= 0x40
	return out
}

// TestReaderResumes reads a file in two goes, as a second import does.
func TestReaderResumes(t *testing.T) {
	t.Parallel()
	var file []byte
	for i := range 10 {
		file = AppendRecord(file, []byte{byte(i)})
	}
	half := int64(5 * (headerSize + 1 + footerSize))
	r := NewReader(bytes.NewReader(file[half:]), "test", half)
	n := 0
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		if rec[0] != byte(5+n) {
			t.Fatalf("record %d holds %d", 5+n, rec[0])
		}
		n++
	}
	if n != 5 || r.Offset() != int64(len(file)) {
		t.Fatalf("read %d records to offset %d; want 5 to %d", n, r.Offset(), len(file))
	}
}

// TestCorruptFixture reads the fixture with a flipped byte: the reader
// names the offset of the bad record, reads the records after it and
// reports the cut record at the end.
func TestCorruptFixture(t *testing.T) {
	t.Parallel()
	fx := loadFixtures(t)
	files, _ := filepath.Glob(filepath.Join("testdata", "corrupt", "run", "*tfevents*"))
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join("testdata", "torch", "baseline", filepath.Base(files[0])))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := readAll(t, good)
	recs, r := readAll(t, data)
	if len(recs) != len(want)-1 {
		t.Errorf("read %d records; want %d, all but the corrupt one", len(recs), len(want)-1)
	}
	if s := r.Skipped(); len(s) != 1 || s[0].Offset != fx.CorruptOffset {
		t.Errorf("skipped %v; want one region at offset %d", s, fx.CorruptOffset)
	}
	if tr := r.Truncated(); tr == nil || tr.Offset != int64(len(good)) {
		t.Errorf("truncated %v; want the record at offset %d", tr, len(good))
	}
}

// FuzzReader checks that no input makes the reader fail, loop or return a
// record whose CRCs do not hold, and that Offset never goes back.
func FuzzReader(f *testing.F) {
	f.Add(AppendRecord(AppendRecord(nil, []byte("event")), []byte("two")))
	f.Add([]byte{})
	f.Add(AppendRecord(nil, nil)[:10])
	if fx, err := filepath.Glob(filepath.Join("testdata", "*", "*", "*tfevents*")); err == nil {
		for _, name := range fx {
			if b, err := os.ReadFile(name); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), "fuzz", 0)
		last := int64(0)
		for range len(data) + 1 {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				if r.Offset() > int64(len(data)) {
					t.Fatalf("offset %d past the end %d", r.Offset(), len(data))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Offset() <= last || int64(len(rec)) > r.Offset() {
				t.Fatalf("offset went from %d to %d for a record of %d bytes", last, r.Offset(), len(rec))
			}
			end := r.Offset()
			if !bytes.Equal(AppendRecord(nil, rec), data[end-int64(len(rec))-headerSize-footerSize:end]) {
				t.Fatalf("record at %d does not frame as it was read", end)
			}
			last = end
		}
		t.Fatal("more records than bytes")
	})
}

func newBytesReader(b []byte) *Reader { return NewReader(bytes.NewReader(b), "bench", 0) }
