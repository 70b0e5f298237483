package main

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestGenerateStoriesDeterministic(t *testing.T) {
	a, b := GenerateStories(3, 20_000), GenerateStories(3, 20_000)
	if a != b {
		t.Fatal("same seed gave different text")
	}
	if c := GenerateStories(4, 20_000); c == a {
		t.Fatal("different seeds gave the same text")
	}
	if len(a) < 20_000 {
		t.Fatalf("got %d bytes, want at least 20000", len(a))
	}
}

func TestGenerateStoriesShape(t *testing.T) {
	text := GenerateStories(1, 50_000)
	if strings.ContainsAny(text, "{}") {
		t.Fatalf("unfilled placeholder in %q", text[:strings.IndexAny(text, "{}")+40])
	}
	stories := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(stories) < 50 {
		t.Fatalf("got %d stories, want many", len(stories))
	}
	distinct := map[string]bool{}
	for _, s := range stories {
		distinct[s] = true
		if s == "" || !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "\"") {
			t.Fatalf("story does not end a sentence: %q", s)
		}
	}
	if len(distinct) < len(stories)*9/10 {
		t.Errorf("only %d of %d stories are distinct", len(distinct), len(stories))
	}
}

func TestVocab(t *testing.T) {
	tests := []struct {
		name  string
		texts []string
		want  string // characters in id order
	}{
		{"one text", []string{"hello"}, "ehlo"},
		{"union of texts", []string{"ab", "ba c"}, " abc"},
		{"empty", []string{""}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewVocab(tt.texts...)
			if got := v.Chars(); got != tt.want {
				t.Errorf("Chars() = %q, want %q", got, tt.want)
			}
			for _, text := range tt.texts {
				ids, err := v.Encode(text)
				if err != nil {
					t.Fatal(err)
				}
				if got := v.Decode(ids); got != text {
					t.Errorf("Decode(Encode(%q)) = %q", text, got)
				}
			}
		})
	}
	if _, err := NewVocab("abc").Encode("abd"); err == nil {
		t.Error("Encode of an unknown character succeeded")
	}
}

func TestDataset(t *testing.T) {
	d, err := NewDataset(5, 30_000, 5_000)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Train) < 30_000 || len(d.Val) < 5_000 {
		t.Fatalf("got %d train and %d val tokens", len(d.Train), len(d.Val))
	}
	// The vocabulary covers both splits exactly: every id is used.
	used := make([]bool, d.Vocab.Size())
	for _, split := range [][]int{d.Train, d.Val} {
		for _, id := range split {
			if id < 0 || id >= d.Vocab.Size() {
				t.Fatalf("id %d out of range", id)
			}
			used[id] = true
		}
	}
	for id, u := range used {
		if !u {
			t.Errorf("vocabulary character %q never occurs", d.Vocab.Chars()[id])
		}
	}
	if n := d.Vocab.Size(); n < 30 || n > 80 {
		t.Errorf("vocabulary size %d, want a few dozen characters", n)
	}
	// Validation comes from a different stream than training.
	val := d.Vocab.Decode(d.Val[:200])
	if strings.Contains(d.Vocab.Decode(d.Train), val) {
		t.Error("validation text starts with a copy of training text")
	}
}

func TestSampleBatch(t *testing.T) {
	data := make([]int, 100)
	for i := range data {
		data[i] = i
	}
	const b, c = 4, 10
	x, y := make([]int, b*c), make([]int, b*c)
	sampleBatch(x, y, data, b, c, rand.New(rand.NewPCG(1, 1)))
	for r := range b {
		for i := range c {
			if x[r*c+i] != x[r*c]+i || y[r*c+i] != x[r*c+i]+1 {
				t.Fatalf("window %d is not a contiguous slice shifted by one: x=%v y=%v", r, x[r*c:(r+1)*c], y[r*c:(r+1)*c])
			}
		}
	}
}

func TestEvalOffsets(t *testing.T) {
	offs := evalOffsets(100, 10, 5)
	want := []int{0, 22, 44, 66, 89}
	for i := range want {
		if offs[i] != want[i] {
			t.Fatalf("evalOffsets = %v, want %v", offs, want)
		}
	}
}
