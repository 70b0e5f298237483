package objstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfs"
)

// Folder is a Store in a home: a run's files are the files of its run
// folder, runs/<id>/<path>, as a home keeps them without a team server.
// There is no separate manifest: List hashes the files it finds, so it
// reads them all (a home's runs are rarely listed whole; the server's
// artifact listings read the run folder directly).
type Folder struct {
	home string
}

// NewFolder returns the store of the home at home.
func NewFolder(home string) *Folder { return &Folder{home: home} }

// runDir opens the run's folder, creating it (and runs/) if create is set.
func (f *Folder) runDir(run string, create bool) (*runfs.Dir, error) {
	if err := layout.CheckID(run); err != nil {
		return nil, err
	}
	if create {
		h, err := runfs.Open(f.home)
		if err != nil {
			return nil, err
		}
		defer h.Close()
		name := path.Join(layout.RunsDir, run)
		if err := h.MkdirAll(name); err != nil {
			return nil, err
		}
		return h.Sub(name)
	}
	d, err := runfs.Open(layout.RunDir(f.home, run))
	if errors.Is(err, fs.ErrNotExist) {
		err = fmt.Errorf("run %s: %w", run, ErrNotFound)
	}
	return d, err
}

// Put writes the file through runfs.Create: whole or not at all, synced.
func (f *Folder) Put(ctx context.Context, run, name string, src io.ReaderAt, size int64) (Entry, error) {
	if err := checkFile(run, name); err != nil {
		return Entry{}, err
	}
	d, err := f.runDir(run, true)
	if err != nil {
		return Entry{}, fmt.Errorf("put %s of run %s: %w", name, run, err)
	}
	defer d.Close()
	r := &sized{r: io.NewSectionReader(src, 0, size), size: size}
	w, err := d.Create(name, readerCtx{ctx, r}, 0)
	if err != nil {
		return Entry{}, fmt.Errorf("put %s of run %s: %w", name, run, err)
	}
	return Entry{Path: name, Size: w.Size, SHA256: w.SHA256}, nil
}

// Open hashes the file, then returns it from its start, verified against
// that hash as it is read (a file rewritten in between fails at its end).
func (f *Folder) Open(ctx context.Context, run, name string) (io.ReadCloser, Entry, error) {
	if err := checkFile(run, name); err != nil {
		return nil, Entry{}, err
	}
	d, err := f.runDir(run, false)
	if err != nil {
		return nil, Entry{}, fmt.Errorf("open %s: %w", name, err)
	}
	defer d.Close()
	file, _, err := d.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, Entry{}, fmt.Errorf("open %s of run %s: %w", name, run, err)
	}
	e, err := hashFile(ctx, file, name)
	if err == nil {
		_, err = file.Seek(0, io.SeekStart)
	}
	if err != nil {
		file.Close()
		return nil, Entry{}, fmt.Errorf("open %s of run %s: %w", name, run, err)
	}
	return verify(file, e), e, nil
}

// List walks the run folder, hashing each regular file; the temporary
// files of writes under way (".NAME.tmp…") are left out.
func (f *Folder) List(ctx context.Context, run string) ([]Entry, error) {
	d, err := f.runDir(run, false)
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	defer d.Close()
	out := []Entry{}
	var walk func(dir string) error
	walk = func(dir string) error {
		infos, err := d.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, fi := range infos {
			name := path.Join(dir, fi.Name())
			switch {
			case strings.HasPrefix(fi.Name(), ".") && strings.Contains(fi.Name(), ".tmp"):
			case fi.IsDir():
				if err := walk(name); err != nil {
					return err
				}
			case fi.Mode().IsRegular():
				file, _, err := d.Open(name)
				if err != nil {
					return err
				}
				e, err := hashFile(ctx, file, name)
				file.Close()
				if err != nil {
					return err
				}
				out = append(out, e)
			}
		}
		return nil
	}
	if err := walk("."); err != nil {
		return nil, fmt.Errorf("list run %s: %w", run, err)
	}
	return out, nil
}

func hashFile(ctx context.Context, file *os.File, name string) (Entry, error) {
	h := sha256.New()
	n, err := io.Copy(h, readerCtx{ctx, file})
	if err != nil {
		return Entry{}, err
	}
	return Entry{Path: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// readerCtx stops a long copy when its context ends.
type readerCtx struct {
	ctx context.Context
	r   io.Reader
}

func (r readerCtx) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// sized reads a source that must hold size bytes: one that ends sooner
// fails the write instead of storing a short file.
type sized struct {
	r       io.Reader
	n, size int64
}

func (s *sized) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err == io.EOF && s.n < s.size {
		err = fmt.Errorf("source ended at %d bytes, before its size %d", s.n, s.size)
	}
	return n, err
}
