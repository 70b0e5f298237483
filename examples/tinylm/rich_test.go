package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
)

// TestRunLogsSamplesAndGradients runs the command against the runlog
// client and reads its run.log: a generated sample at every evaluation
// (steps 0, 10 and 20), and a histogram of gradient norms per layer at
// every evaluation after the first.
func TestRunLogsSamplesAndGradients(t *testing.T) {
	home := t.TempDir()
	args := append([]string{"-config", "config.json", "-home", home, "-name", "rich"}, tinySets...)
	if err := run(context.Background(), args, io.Discard); err != nil {
		t.Fatal(err)
	}
	runs, _ := os.ReadDir(filepath.Join(home, "runs"))
	if len(runs) != 1 {
		t.Fatalf("runs: %v", runs)
	}
	f, err := os.Open(filepath.Join(home, "runs", runs[0].Name(), "run.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var samples []string
	hists := map[string][]int64{}
	rd := runfmt.NewReader(f, "run.log")
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch rec.Type {
		case runfmt.TypeText:
			tx, err := rec.Text()
			if err != nil {
				t.Fatal(err)
			}
			if tx.Key != "sample" || !strings.HasPrefix(tx.Text, "Once upon a time") || len(tx.Text) != len("Once upon a time")+20 {
				t.Errorf("text %+v", tx)
			}
			samples = append(samples, fmt.Sprint(tx.Step))
		case runfmt.TypeHistogram:
			h, err := rec.Histogram()
			if err != nil {
				t.Fatal(err)
			}
			total := 0.0
			for _, c := range h.Counts {
				total += c
			}
			if total == 0 || h.NaN+h.Inf+h.NInf != 0 {
				t.Errorf("histogram %s at %d: %v values, %d non-finite", h.Key, h.Step, total, h.NaN+h.Inf+h.NInf)
			}
			hists[h.Key] = append(hists[h.Key], h.Step)
		}
	}
	if got := strings.Join(samples, " "); got != "0 10 20" {
		t.Errorf("samples at steps %s, want 0 10 20", got)
	}
	var keys []string
	for k, steps := range hists {
		keys = append(keys, k)
		if !slices.Equal(steps, []int64{10, 20}) {
			t.Errorf("%s at steps %v, want 10 and 20", k, steps)
		}
	}
	slices.Sort(keys)
	if want := "grad_norm/block0 grad_norm/head grad_norm/lnf grad_norm/wpe grad_norm/wte"; strings.Join(keys, " ") != want {
		t.Errorf("histogram keys %v, want %s", keys, want)
	}
}

func TestGradNormsByLayer(t *testing.T) {
	params := []*Param{
		{Name: "wte", Shape: []int{2, 2}, Grad: []float64{3, 4, 0, 1}},
		{Name: "block0.ln1.gain", Shape: []int{2}, Grad: []float64{-2, 0.5}},
		{Name: "block0.attn.wo", Shape: []int{1, 2}, Grad: []float64{6, 8}},
	}
	layers, norms := gradNormsByLayer(params)
	if fmt.Sprint(layers, norms) != "[wte block0] [[5 1] [2 0.5 10]]" {
		t.Errorf("layers %v, norms %v", layers, norms)
	}
}
