// Package gitinfo describes the git checkout a run starts in: its commit,
// branch, remote and whether it has uncommitted changes.
package gitinfo

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"time"

	"github.com/runlog/runlog/internal/runfmt"
)

// timeout bounds the git commands, so that a huge or slow checkout never
// delays a run's start by more than this.
const timeout = 2 * time.Second

// ErrNoRepo is returned when dir is not inside a git checkout or git is not
// installed.
var ErrNoRepo = errors.New("not a git checkout")

// Inspect returns the git state of the checkout that holds dir.
func Inspect(ctx context.Context, dir string) (*runfmt.Git, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	commit, err := git(ctx, dir, "rev-parse", "HEAD")
	if err != nil {
		return nil, ErrNoRepo
	}
	g := &runfmt.Git{Commit: commit}
	if b, err := git(ctx, dir, "rev-parse", "--abbrev-ref", "HEAD"); err == nil && b != "HEAD" {
		g.Branch = b
	}
	if r, err := git(ctx, dir, "config", "--get", "remote.origin.url"); err == nil {
		g.Remote = r
	}
	if s, err := git(ctx, dir, "status", "--porcelain", "--untracked-files=no"); err == nil {
		g.Dirty = s != ""
	}
	return g, nil
}

// Diff returns the uncommitted changes to tracked files of the checkout
// that holds dir, as a patch.
func Diff(ctx context.Context, dir string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "diff", "HEAD", "--binary")
	cmd.Dir = dir
	return cmd.Output()
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return "", err
	}
	return strings.TrimSpace(out.String()), nil
}
