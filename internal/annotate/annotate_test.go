package annotate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
)

func TestAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), Log)
	name := "renamed"
	for i, a := range []runfmt.Annotate{{Time: 1, Name: name}, {Time: 2, AddTags: []string{"a"}}} {
		if err := Append(path, "run1", "runlog-test/1", a); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := runfmt.NewReader(bytes.NewReader(data), path)
	var types []runfmt.Type
	var h runfmt.Header
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, rec.Type)
		if rec.Type == runfmt.TypeHeader {
			json.Unmarshal(rec.Payload, &h)
		}
	}
	if len(types) != 3 || types[0] != runfmt.TypeHeader || types[2] != runfmt.TypeAnnotate {
		t.Errorf("records %v", types)
	}
	if h.ID != "run1" || !h.Attach || h.Writer != "runlog-test/1" {
		t.Errorf("header %+v", h)
	}
}

func TestCheck(t *testing.T) {
	str := func(s string) *string { return &s }
	many := make([]string, runfmt.MaxTags+1)
	for i := range many {
		many[i] = "t" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	for _, tt := range []struct {
		name string
		a    runfmt.Annotate
		ok   bool
	}{
		{"a name", runfmt.Annotate{Name: "baseline-17m"}, true},
		{"a hostile name is text", runfmt.Annotate{Name: "<img src=x onerror=alert(1)>"}, true},
		{"a blank name", runfmt.Annotate{Name: "  "}, false},
		{"a name with a newline", runfmt.Annotate{Name: "a\nb"}, false},
		{"a name too long", runfmt.Annotate{Name: strings.Repeat("n", runfmt.MaxNameLen+1)}, false},
		{"tags", runfmt.Annotate{AddTags: []string{"good"}, RemoveTags: []string{"old"}}, true},
		{"an empty tag", runfmt.Annotate{AddTags: []string{""}}, false},
		{"too many tags", runfmt.Annotate{AddTags: many}, false},
		{"notes", runfmt.Annotate{Notes: str("fine"), Hypothesis: str("lr matters")}, true},
		{"notes too long", runfmt.Annotate{Note: strings.Repeat("x", runfmt.MaxTextLen)}, false},
		{"notes not UTF-8", runfmt.Annotate{Notes: str("\xff")}, false},
		{"a hypothesis too long", runfmt.Annotate{Hypothesis: str(strings.Repeat("x", runfmt.MaxTextLen+1))}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.a, []string{"old"}, "x", "")
			if (err == nil) != tt.ok || err != nil && !errors.Is(err, runfmt.ErrInvalid) {
				t.Errorf("Check: %v, want ok %v", err, tt.ok)
			}
		})
	}
}
