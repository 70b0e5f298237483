package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestCheckpointRoundTrip(t *testing.T) {
	cfg := testConfig()
	cfg.LR = 0.0123
	want := &Checkpoint{
		Config:  cfg,
		Step:    42,
		RNG:     []byte("rng state"),
		OptStep: 42,
		Params: []ParamState{
			{Name: "a", Data: []float32{1, 2, 3}, M: []float32{4, 5, 6}, V: []float32{7, 8, 9}},
			{Name: "block0.b", Data: []float32{-1}, M: []float32{0}, V: []float32{0.5}},
		},
	}
	path := filepath.Join(t.TempDir(), "sub", checkpointName(42))
	if err := want.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back %+v\nwant %+v", got, want)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the checkpoint", len(entries))
	}
}

func TestReadCheckpointRejectsDamage(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.ckpt")
	if err := newTestTrainer(t, testConfig()).Checkpoint().WriteFile(good); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), data...)
	flipped[len(flipped)/2] ^= 1
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"flipped bit", flipped, "checksum"},
		{"truncated", data[:len(data)-100], "checksum"},
		{"not a checkpoint", []byte("hello, world"), "not a tinylm checkpoint"},
		{"empty", nil, "not a tinylm checkpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.ckpt")
			if err := os.WriteFile(path, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadCheckpoint(path); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadCheckpoint() = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestLatestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	if _, err := LatestCheckpoint(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty dir: error %v, want os.ErrNotExist", err)
	}
	for _, name := range []string{checkpointName(50), checkpointName(999_999), checkpointName(1_000_000), "step_x.ckpt", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := LatestCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := checkpointName(1_000_000); filepath.Base(got) != want {
		t.Errorf("LatestCheckpoint = %s, want %s", got, want)
	}
}
