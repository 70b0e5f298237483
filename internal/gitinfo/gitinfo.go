// Package gitinfo describes the git checkout a run starts in: its commit,
// branch, remote and whether it has uncommitted changes.
package gitinfo

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
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

// Info is the code a run starts from: the checkout's state and its
// uncommitted changes. Runs that start from the same code, such as a
// sweep's members, share one, probed once (Probe).
type Info struct {
	Git  *runfmt.Git // nil outside a git checkout
	Diff []byte      // the uncommitted changes (Diff); empty when there are none
}

// Probe returns the Info of the checkout that holds dir: an Info with no
// Git outside a checkout. A diff git cannot make is left out.
func Probe(ctx context.Context, dir string) *Info {
	g, err := Inspect(ctx, dir)
	if err != nil {
		return &Info{}
	}
	info := &Info{Git: g}
	info.Diff, _ = Diff(ctx, dir)
	return info
}

// Limits on the untracked files Diff includes: training code that was never
// added to git is worth keeping, datasets and checkpoints are not.
const (
	maxUntrackedFile  = 1 << 20
	maxUntrackedTotal = 10 << 20
)

// Diff returns the uncommitted changes of the checkout that holds dir as a
// patch: changes to tracked files, and untracked files (those .gitignore
// does not exclude, up to 1 MiB each and 10 MiB in all) as new files.
func Diff(ctx context.Context, dir string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "diff", "HEAD", "--binary")
	cmd.Dir = dir
	patch, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	list, err := git(ctx, dir, "ls-files", "--others", "--exclude-standard", "--full-name", "-z", ":/")
	if err != nil || list == "" {
		return patch, nil
	}
	top, err := git(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return patch, nil
	}
	total := 0
	for _, name := range strings.Split(strings.TrimRight(list, "\x00"), "\x00") {
		fi, err := os.Stat(filepath.Join(top, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxUntrackedFile || total+int(fi.Size()) > maxUntrackedTotal {
			continue
		}
		// git diff --no-index exits 1 when the files differ, as they do.
		d := exec.CommandContext(ctx, "git", "diff", "--no-index", "--binary", "--", "/dev/null", name)
		d.Dir = top
		out, _ := d.Output()
		patch = append(patch, out...)
		total += int(fi.Size())
	}
	return patch, nil
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
