package gitinfo

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestInspect(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := Inspect(ctx, dir); !errors.Is(err, ErrNoRepo) {
		t.Fatalf("outside a checkout: %v, want ErrNoRepo", err)
	}
	if info := Probe(ctx, dir); info.Git != nil || info.Diff != nil {
		t.Errorf("probe outside a checkout: %+v", info)
	}
	run := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	run("init", "-q", "-b", "exp")
	run("remote", "add", "origin", "https://example.com/lab/lm.git")
	os.WriteFile(filepath.Join(dir, "train.py"), []byte("lr = 1e-3\n"), 0o644)
	run("add", "train.py")
	run("commit", "-q", "-m", "first")
	g, err := Inspect(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Commit) != 40 || g.Branch != "exp" || g.Dirty || g.Remote != "https://example.com/lab/lm.git" {
		t.Errorf("clean checkout: %+v", g)
	}
	os.WriteFile(filepath.Join(dir, "train.py"), []byte("lr = 3e-3\n"), 0o644)
	if g, _ = Inspect(ctx, dir); !g.Dirty {
		t.Error("a modified file does not make the checkout dirty")
	}
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	os.WriteFile(filepath.Join(dir, "src", "model.py"), []byte("d_model = 512\n"), 0o644)
	os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("*.pt\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "big.pt"), make([]byte, 2<<20), 0o644)
	patch, err := Diff(ctx, filepath.Join(dir, "src"))
	if err != nil || !strings.Contains(string(patch), "+lr = 3e-3") || !strings.Contains(string(patch), "+d_model = 512") ||
		!strings.Contains(string(patch), "b/src/model.py") || strings.Contains(string(patch), "big.pt") {
		t.Errorf("diff (tracked change and untracked file, ignored file left out): %v\n%s", err, patch)
	}
	info := Probe(ctx, dir)
	if info.Git == nil || info.Git.Commit != g.Commit || !info.Git.Dirty || !bytes.Equal(info.Diff, patch) {
		t.Errorf("probe: %+v, diff %q", info.Git, info.Diff)
	}
}
