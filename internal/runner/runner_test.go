package runner

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/runlog/runlog/internal/gitinfo"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
)

// TestRunGivenCode: runs handed the code they run from (a sweep's, probed
// once) record its diff as given, without asking git.
func TestRunGivenCode(t *testing.T) {
	t.Chdir(t.TempDir()) // not a git checkout: a diff can only come from Options.Git
	home := t.TempDir()
	patch := []byte("diff --git a/train.py b/train.py\n+lr = 3e-3\n")
	tests := []struct {
		name string
		code *gitinfo.Info
		want []byte // the run's git.diff; nil for none
	}{
		{"diff", &gitinfo.Info{Git: &runfmt.Git{Commit: "abc", Dirty: true}, Diff: patch}, patch},
		{"clean", &gitinfo.Info{Git: &runfmt.Git{Commit: "abc"}}, nil},
		{"no checkout", &gitinfo.Info{}, nil},
		{"probed", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(context.Background(), Options{
				Home: home, Command: []string{"/bin/sh", "-c", "exit 0"}, Git: tt.code,
				Environment: map[string]string{}, Parse: "off", Stdout: io.Discard, Stderr: io.Discard,
			})
			if err != nil || res.Status != runfmt.StatusFinished {
				t.Fatalf("run: %v, %+v", err, res)
			}
			got, err := os.ReadFile(filepath.Join(res.Dir, layout.ArtifactsDir, "git.diff"))
			if tt.want == nil && !os.IsNotExist(err) {
				t.Errorf("git.diff written (%v): %q", err, got)
			}
			if tt.want != nil && !bytes.Equal(got, tt.want) {
				t.Errorf("git.diff %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}
