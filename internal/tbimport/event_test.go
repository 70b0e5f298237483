package tbimport

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestFloat16(t *testing.T) {
	t.Parallel()
	tests := []struct {
		bits  uint16
		brain bool
		want  float64
	}{
		{0x3c00, false, 1},
		{0xc000, false, -2},
		{0x3555, false, 0.333251953125},
		{0x7bff, false, 65504},
		{0x0001, false, 5.960464477539063e-08}, // the smallest subnormal
		{0x0000, false, 0},
		{0x7c00, false, math.Inf(1)},
		{0xfc00, false, math.Inf(-1)},
		{0x3f80, true, 1},
		{0x4049, true, 3.140625},
	}
	for _, tt := range tests {
		if got := float16(tt.bits, tt.brain); got != tt.want {
			t.Errorf("float16(%#04x, %v) = %v; want %v", tt.bits, tt.brain, got, tt.want)
		}
	}
	if !math.IsNaN(float16(0x7e00, false)) {
		t.Error("half NaN is not NaN")
	}
}

func TestDecodeEvent(t *testing.T) {
	t.Parallel()
	plugins := map[string]string{}
	var ev event
	data := AppendScalarEvent(nil, 1764201600.25, 42, "train/loss", 2.5)
	if err := decodeEvent(data, &ev, plugins); err != nil {
		t.Fatal(err)
	}
	if ev.wallTime != 1764201600.25 || ev.step != 42 || len(ev.scalars) != 1 || string(ev.scalars[0].tag) != "train/loss" || ev.scalars[0].value != 2.5 {
		t.Errorf("decoded %+v", ev)
	}
	for i := range data {
		ev = event{}
		decodeEvent(data[:i], &ev, plugins) // must not panic on a cut message
	}
}

// BenchmarkImportDecode measures reading and decoding an event file of
// scalars, the part of an import that TensorBoard's loaders do.
func BenchmarkImportDecode(b *testing.B) {
	var file []byte
	tags := []string{"train/loss", "train/lr", "val/loss", "grad_norm"}
	for i := range 100_000 {
		file = AppendRecord(file, AppendScalarEvent(nil, 1764201600+float64(i)/10, int64(i/4), tags[i%4], float32(i)))
	}
	b.SetBytes(int64(len(file)))
	b.ResetTimer()
	for range b.N {
		r := newBytesReader(file)
		plugins := map[string]string{}
		var ev event
		for {
			data, err := r.Next()
			if err != nil {
				break
			}
			ev.scalars = ev.scalars[:0]
			decodeEvent(data, &ev, plugins)
		}
	}
	b.ReportMetric(float64(b.N)*100_000/b.Elapsed().Seconds()/1e6, "Mpoints/s")
}

// BenchmarkImport measures an import of an event file of 2 million
// scalars: reading, decoding and writing run.log, synced.
func BenchmarkImport(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "run")
	os.MkdirAll(dir, 0o755)
	var file []byte
	tags := []string{"train/loss", "train/lr", "val/loss", "grad_norm"}
	const n = 2_000_000
	for i := range n {
		file = AppendRecord(file, AppendScalarEvent(nil, 1764201600+float64(i)/10, int64(i/4), tags[i%4], float32(i)))
	}
	if err := os.WriteFile(filepath.Join(dir, "events.out.tfevents.1.h.1.0"), file, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(file)))
	b.ResetTimer()
	for range b.N {
		res, err := Import(context.Background(), b.TempDir(), dir, Options{})
		if err != nil || res.Points != n {
			b.Fatal(res.Points, err)
		}
	}
	b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds()/1e6, "Mpoints/s")
}
