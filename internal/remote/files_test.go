package remote

import (
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
)

func ckpt(path string, meta map[string]any) runfmt.Artifact {
	return runfmt.Artifact{Path: path, Kind: runfmt.KindCheckpoint, Metadata: meta}
}

func TestSelect(t *testing.T) {
	arts := []runfmt.Artifact{
		ckpt("checkpoints/1", map[string]any{"val_loss": 3.0}),
		ckpt("checkpoints/2", map[string]any{"val_loss": 2.0}),
		{Path: "artifacts/model", Kind: runfmt.KindModel},
		ckpt("checkpoints/3", map[string]any{"val_loss": 2.5}),
		ckpt("checkpoints/4", nil), // no score: only ever the latest
	}
	accuracy := []runfmt.Artifact{
		ckpt("checkpoints/1", map[string]any{"val_accuracy": 0.5}),
		ckpt("checkpoints/2", map[string]any{"val_accuracy": 0.9}),
		ckpt("checkpoints/3", map[string]any{"val_accuracy": 0.7}),
	}
	for _, c := range []struct {
		policy Policy
		arts   []runfmt.Artifact
		want   string
	}{
		{PolicyNone, arts, ""},
		{PolicyBest, arts, "checkpoints/2 artifacts/model"},
		{PolicyBestLast, arts, "checkpoints/2 artifacts/model checkpoints/4"},
		{PolicyAll, arts, "checkpoints/1 checkpoints/2 artifacts/model checkpoints/3 checkpoints/4"},
		{PolicyBest, accuracy, "checkpoints/2"}, // higher is better
		{PolicyBestLast, accuracy, "checkpoints/2 checkpoints/3"},
	} {
		var got []string
		for _, a := range Select(c.policy, c.arts) {
			got = append(got, a.Path)
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("Select(%s) = %q, want %q", c.policy, g, c.want)
		}
	}
}

func TestUploadStateAdd(t *testing.T) {
	st := UploadState{Acked: map[string]string{"c/0": "aa"}}
	for _, f := range []PendingFile{
		{Path: "c/0", SHA256: "aa"},             // acknowledged already: not queued
		{Path: "c/1", SHA256: "11"},             // a best
		{Path: "c/2", SHA256: "22", Last: true}, // the latest ...
		{Path: "c/3", SHA256: "33", Last: true}, // ... replaced by a later one
		{Path: "c/1", SHA256: "1b"},             // a path written again: queued once, new content
	} {
		st.Add(f)
	}
	var got []string
	for _, f := range st.Pending {
		got = append(got, f.Path+"="+f.SHA256)
	}
	if g := strings.Join(got, " "); g != "c/3=33 c/1=1b" {
		t.Errorf("queue %q", g)
	}
	st.Done(st.Pending[0])
	if len(st.Pending) != 1 || st.Acked["c/3"] != "33" {
		t.Errorf("after Done: %+v", st)
	}
}

func TestParsePolicy(t *testing.T) {
	for in, want := range map[string]Policy{"": PolicyBestLast, "none": PolicyNone, "Best": PolicyBest, "best+last": PolicyBestLast, "all": PolicyAll} {
		if got, err := ParsePolicy(in); err != nil || got != want {
			t.Errorf("ParsePolicy(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParsePolicy("latest"); err == nil || !strings.Contains(err.Error(), "best+last") {
		t.Errorf("ParsePolicy(latest): %v", err)
	}
}

func TestChooseLeavesOtherFoldersLocal(t *testing.T) {
	c := Chooser{Policy: PolicyAll}
	for path, want := range map[string]bool{"checkpoints/a.pt": true, "artifacts/m": true, "media/k/1-ab.png": true, "ckpt.pt": false, "run.log": false, "notes/x": false} {
		if up, _ := c.Choose(runfmt.Artifact{Path: path, Kind: runfmt.KindCheckpoint}); up != want {
			t.Errorf("Choose(%s) = %v, want %v", path, up, want)
		}
	}
}
