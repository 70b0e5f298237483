package runlog

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
)

// LogArtifact registers a file of the run, such as a checkpoint, with its
// size and SHA-256. A file inside the run folder is registered where it is;
// any other file is copied into the folder's checkpoints/ (for kind
// "checkpoint") or artifacts/ first, so that the folder stays complete on
// its own. LogArtifact reads the whole file before it returns, so the
// caller may overwrite or delete its copy afterwards.
func (r *Run) LogArtifact(path string, a Artifact) error {
	kind := a.Kind
	switch kind {
	case "":
		kind = runfmt.KindFile
	case runfmt.KindCheckpoint, runfmt.KindModel, runfmt.KindPlot, runfmt.KindFile:
	default:
		return fmt.Errorf("%w: artifact kind %q: want checkpoint, model, plot or file", ErrInvalid, a.Kind)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("runlog: artifact %s: %w", path, err)
	}
	rel, err := filepath.Rel(r.dir, abs)
	var size int64
	var sum string
	if err == nil && !strings.HasPrefix(rel, "..") {
		size, sum, err = hashFile(abs)
	} else {
		sub := layout.ArtifactsDir
		if kind == runfmt.KindCheckpoint {
			sub = layout.CheckpointsDir
		}
		rel, size, sum, err = r.copyIn(abs, sub)
	}
	if err != nil {
		return fmt.Errorf("runlog: artifact %s: %w", path, err)
	}
	rec := runfmt.Artifact{Path: filepath.ToSlash(rel), Kind: kind, Time: now(), Size: size, SHA256: sum, Metadata: a.Metadata}
	if a.Step >= 0 {
		step := a.Step
		rec.Step = &step
	}
	if err := r.appendJSON(runfmt.TypeArtifact, rec); err != nil {
		return err
	}
	if r.uploads != nil {
		r.uploads.add(rec)
	}
	return nil
}

func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// copyIn copies src into the run folder's sub folder under a free name and
// returns its path relative to the run folder.
func (r *Run) copyIn(src, sub string) (rel string, size int64, sum string, err error) {
	in, err := os.Open(src)
	if err != nil {
		return "", 0, "", err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Join(r.dir, sub), 0o755); err != nil {
		return "", 0, "", err
	}
	base := filepath.Base(src)
	ext := filepath.Ext(base)
	var out *os.File
	for i := 0; ; i++ {
		name := base
		if i > 0 {
			name = fmt.Sprintf("%s-%d%s", strings.TrimSuffix(base, ext), i, ext)
		}
		rel = filepath.Join(sub, name)
		out, err = os.OpenFile(filepath.Join(r.dir, rel), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || i > 1000 {
			return "", 0, "", err
		}
	}
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(out, h), in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(filepath.Join(r.dir, rel))
		return "", 0, "", err
	}
	return rel, size, hex.EncodeToString(h.Sum(nil)), nil
}
