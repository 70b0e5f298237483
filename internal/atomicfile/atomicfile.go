// Package atomicfile writes files the one way runlog writes a whole file:
// into a temporary file in the same folder, synced, renamed over the
// target, and the folder synced. A reader sees the old content or the new,
// never a mix, and once a write returns, a power cut keeps the new content.
//
// Appending to a log is not this package's business: run logs are written
// through runfmt.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
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
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
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
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := SyncDir(dir); err != nil {
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
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
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
