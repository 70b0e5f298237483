// Package atomicfile writes files the one way runlog writes a whole file:
// into a temporary file in the same folder, synced, renamed over the
// target, and the folder synced. A reader sees the old content or the new,
// never a mix, and once a write returns, a power cut keeps the new content.
//
// Write takes a plain path; WriteIn resolves its name inside an os.Root, so
// that neither the name nor a symbolic link on its way leads out of the
// root's folder (internal/runfs writes the files of run folders this way).
//
// Appending to a log is not this package's business: run logs are written
// through runfmt.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Write writes the file at path with what fn writes to the given writer,
// which is buffered. The file is created with mode 0644, as is the folder
// with mode 0755 if missing. If fn fails, the file at path is left as it
// was.
func Write(path string, fn func(w io.Writer) error) error {
	dir := filepath.Dir(path)
	created, err := mkdirAll(dir)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer root.Close()
	if err := write(root, filepath.Base(path), fn); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if created {
		// The new folder's own entry must survive too.
		if err := SyncDir(filepath.Dir(dir)); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

// WriteFile writes data to the file at path, as Write does.
func WriteFile(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteIn writes the file name, a slash-separated path inside root, as
// Write does, creating its missing folders (durably, with mode 0755). The
// name is resolved by root: a name or link that leads out of root's folder
// is refused.
func WriteIn(root *os.Root, name string, fn func(w io.Writer) error) error {
	if err := MkdirAllIn(root, path.Dir(name)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := write(root, name, fn); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// write writes name inside root through a temporary file beside it; the
// folder of name exists.
func write(root *os.Root, name string, fn func(w io.Writer) error) error {
	dir := path.Dir(name)
	f, tmp, err := createTemp(root, dir, "."+path.Base(name)+".tmp")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	err = fn(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		root.Remove(tmp)
		return err
	}
	return syncDirIn(root, dir)
}

// createTemp creates a new file in the folder dir of root, named prefix
// and a random number, as os.CreateTemp does for plain paths.
func createTemp(root *os.Root, dir, prefix string) (*os.File, string, error) {
	for try := 0; ; try++ {
		name := path.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10))
		f, err := root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) && try < 10000 {
			continue
		}
		return f, name, err
	}
}

// MkdirAllIn creates the folder name, a slash-separated path inside root,
// and its missing parents with mode 0755, and syncs the folders that hold
// the new entries. A name or link that leads out of root's folder is
// refused.
func MkdirAllIn(root *os.Root, name string) error {
	name = path.Clean(name)
	if name == "." {
		return nil
	}
	parts := strings.Split(name, "/")
	var created []string
	for i := range parts {
		dir := strings.Join(parts[:i+1], "/")
		fi, err := root.Stat(dir)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s is not a folder", dir)
			}
			continue
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := root.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		created = append(created, dir)
	}
	for _, dir := range created {
		if err := syncDirIn(root, path.Dir(dir)); err != nil {
			return err
		}
	}
	return nil
}

// SyncDir makes the entries of a folder durable: the files created, renamed
// or removed in it. Windows cannot sync a folder, and needs not: its file
// system journals entries itself.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return syncFolder(d, dir)
}

// syncDirIn is SyncDir for the folder name inside root.
func syncDirIn(root *os.Root, name string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := root.Open(name)
	if err != nil {
		return err
	}
	return syncFolder(d, filepath.Join(root.Name(), filepath.FromSlash(name)))
}

// syncFolder syncs and closes the open folder d.
func syncFolder(d *os.File, name string) error {
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", name, err)
	}
	return nil
}

// mkdirAll creates dir and its parents if missing, and reports whether it
// created dir.
func mkdirAll(dir string) (bool, error) {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return false, fmt.Errorf("%s is not a folder", dir)
		}
		return false, nil
	}
	return true, os.MkdirAll(dir, 0o755)
}
