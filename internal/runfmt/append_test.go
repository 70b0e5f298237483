package runfmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

var testHeader = Header{Format: 1, ID: "run1", Attach: true, Time: 1764201600, Writer: "test"}

func createHeader() Header { return testHeader }

func fixtureBytes(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".runlog"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestOpenAppend(t *testing.T) {
	basic := func(t *testing.T) []byte { return fixtureBytes(t, "basic") }
	header, _ := appendJSON([]byte(Magic), TypeHeader, 1, testHeader)
	tests := []struct {
		name    string
		file    func(t *testing.T) []byte // nil: no file
		create  bool
		wantErr error // or any error, with errAny
		wantEnd func(t *testing.T) int64
		wantSeq uint64
		wantKey uint32 // the id a new key gets
	}{
		{name: "new file", create: true, wantEnd: size(header), wantSeq: 1},
		{name: "empty file", file: bytesOf(nil), create: true, wantEnd: size(header), wantSeq: 1},
		{name: "torn magic", file: bytesOf([]byte("RUN")), create: true, wantEnd: size(header), wantSeq: 1},
		{name: "only the magic", file: bytesOf([]byte(Magic)), create: true, wantEnd: size(header), wantSeq: 1},
		{name: "a log", file: basic, wantEnd: func(t *testing.T) int64 { return int64(len(basic(t))) }, wantSeq: 18, wantKey: 5},
		{name: "a log, create", file: basic, create: true, wantEnd: func(t *testing.T) int64 { return int64(len(basic(t))) }, wantSeq: 18, wantKey: 5},
		{name: "torn tail cut", file: func(t *testing.T) []byte { b := basic(t); return b[:len(b)-3] },
			wantEnd: func(t *testing.T) int64 { b := basic(t); return lastRecordStart(t, b) }, wantSeq: 17, wantKey: 5},
		{name: "no file", wantErr: fs.ErrNotExist},
		{name: "empty file, no create", file: bytesOf(nil), wantErr: errAny},
		{name: "not a log", file: bytesOf([]byte("#!/bin/sh\necho hello\n")), create: true, wantErr: ErrNotRunLog},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "run.log")
			if tt.file != nil {
				if err := os.WriteFile(path, tt.file(t), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var opts AppendOptions
			if tt.create {
				opts.Create = createHeader
			}
			a, err := OpenAppend(path, opts)
			if tt.wantErr != nil {
				if err == nil || (tt.wantErr != errAny && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("OpenAppend: %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			end := tt.wantEnd(t)
			if fi, _ := os.Stat(path); a.End() != end || fi.Size() != end {
				t.Errorf("end %d, file %d bytes; want %d", a.End(), fi.Size(), end)
			}
			enc := a.Encoder()
			if enc.Seq() != tt.wantSeq {
				t.Errorf("seq %d, want %d", enc.Seq(), tt.wantSeq)
			}
			if id, _ := enc.Key("new key"); id != tt.wantKey {
				t.Errorf("a new key got id %d, want %d", id, tt.wantKey)
			}
			enc.Heartbeat(1764201700)
			if err := a.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			seqs, _, r := records(t, path)
			if r.Torn() != 0 || len(r.Skipped()) != 0 {
				t.Errorf("torn %d, skipped %v after appending", r.Torn(), r.Skipped())
			}
			if n := len(seqs); n < 3 || seqs[n-1] != tt.wantSeq+2 || seqs[n-2] != tt.wantSeq+1 {
				t.Errorf("seqs %v: want the last two %d, %d", seqs, tt.wantSeq+1, tt.wantSeq+2)
			}
		})
	}
}

var errAny = errors.New("any error")

func bytesOf(b []byte) func(*testing.T) []byte { return func(*testing.T) []byte { return b } }

func size(b []byte) func(*testing.T) int64 { return func(*testing.T) int64 { return int64(len(b)) } }

// lastRecordStart returns the offset of the last record of a log.
func lastRecordStart(t *testing.T, data []byte) int64 {
	t.Helper()
	r := NewReader(bytes.NewReader(data), "log")
	var last int64
	for {
		rec, err := r.Next()
		if err != nil {
			return last
		}
		last = rec.Offset
	}
}

// TestAppendersTakeTurns has two appenders of one file append one after
// the other: each reads what the other wrote, so sequence numbers keep
// growing by one and a key defined by one is used by the other.
func TestAppendersTakeTurns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.cli.log")
	var visits [2]int
	var appenders [2]*Appender
	for i := range appenders {
		appenders[i] = NewAppender(path, AppendOptions{
			Create: createHeader,
			Visit:  func(Record) { visits[i]++ },
			Reset:  func() { visits[i] = 0 },
		})
	}
	for turn := range 6 {
		a := appenders[turn%2]
		if err := a.Open(); err != nil {
			t.Fatal(err)
		}
		enc := a.Encoder()
		id, err := enc.Key("loss")
		if err != nil {
			t.Fatal(err)
		}
		if id != 0 {
			t.Errorf("turn %d: loss has id %d, want 0", turn, id)
		}
		enc.Metrics(int64(turn), 1764201600+float64(turn), []uint32{id}, []float64{1})
		if err := a.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}
	seqs, types, _ := records(t, path)
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("seqs %v: want 1, 2, 3, …", seqs)
		}
	}
	if n := slices.Index(types, TypeKey); n != 1 || slices.Contains(types[n+1:], TypeKey) {
		t.Errorf("types %v: want one key record, after the header", types)
	}
	// At every Open but the first, an appender read the file again, which
	// the other had appended to: the first last read 6 records (turn 4),
	// the second 7 (turn 5).
	if visits[0] != 6 || visits[1] != 7 {
		t.Errorf("visits %v, want [6 7]", visits)
	}
}

// TestAppenderReopen checks that an appender that opens a file it left
// as it was does not read it again, and that Close drops what was not
// flushed.
func TestAppenderReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.log")
	reads := 0
	a := NewAppender(path, AppendOptions{Create: createHeader, Reset: func() { reads++ }})
	for range 3 {
		if err := a.Open(); err != nil {
			t.Fatal(err)
		}
		a.Encoder().Heartbeat(1764201601)
		if err := a.Flush(); err != nil {
			t.Fatal(err)
		}
		a.Encoder().Heartbeat(1764201602) // not flushed: dropped
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if reads != 1 {
		t.Errorf("%d reads, want 1: the file was created, then left as the appender knew it", reads)
	}
	seqs, types, _ := records(t, path)
	if !reflect.DeepEqual(seqs, []uint64{1, 2, 3, 4}) || !reflect.DeepEqual(types, []Type{TypeHeader, TypeHeartbeat, TypeHeartbeat, TypeHeartbeat}) {
		t.Errorf("seqs %v, types %v", seqs, types)
	}
	// A new appender of the file reads it and knows its state.
	b, err := OpenAppend(path, AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if st := b.State(); st.LastSeq != 4 || st.Header.ID != testHeader.ID || b.Encoder().Seq() != 4 {
		t.Errorf("state %+v, seq %d", st, b.Encoder().Seq())
	}
}

// TestAppenderWritesFixture writes the basic fixture through appenders,
// in two turns, and compares the file with basic.runlog byte for byte:
// the second appender takes over the first's sequence numbers and keys.
func TestAppenderWritesFixture(t *testing.T) {
	want := fixtureBytes(t, "basic")
	recs := readDump(t, "basic")
	var h Header
	if err := json.Unmarshal([]byte(recs[0].JSON), &h); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "run.log")
	half := len(recs) / 2
	for _, part := range [][]dumpRecord{recs[1:half], recs[half:]} {
		a, err := OpenAppend(path, AppendOptions{Create: func() Header { return h }})
		if err != nil {
			t.Fatal(err)
		}
		encodeDumpWith(t, a.Encoder(), part)
		if err := a.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("appenders wrote %d bytes that differ from basic.runlog (%d bytes)", len(got), len(want))
	}
}
