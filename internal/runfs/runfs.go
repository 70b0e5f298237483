// Package runfs is the one way runlog opens the files of a run folder on
// behalf of a request: to read, list, create or send them to a browser.
//
// A Dir is a folder opened as an os.Root. What must stay true:
//
//   - a name is a slash-separated path inside the folder: absolute paths,
//     "..", "." and empty parts, backslashes and NUL are refused (ErrOutside)
//     before the file system is asked;
//   - a symbolic link is followed only while it stays inside the folder: one
//     that leads out (to /etc, to the run's parent, or out and back in) is
//     refused with ErrOutside, for reading, listing and writing alike;
//     a link that stays inside works as its target does;
//   - the folder itself may be a link (a run folder moved to another disk):
//     only what is inside it is checked;
//   - a file is created whole or not at all (Create), through
//     atomicfile.WriteIn;
//   - a file sent to a browser (Serve) cannot run script in the server's
//     origin: it goes as an attachment unless its type is one a browser
//     shows inertly, always with Content-Security-Policy: sandbox and
//     X-Content-Type-Options: nosniff.
//
// To confine a caller to part of a run folder (the MLflow artifacts API to
// artifacts/), open that part with Sub: links in it then cannot reach the
// rest of the run folder either.
package runfs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/runlog/runlog/internal/atomicfile"
)

// ErrOutside is returned for a name that is not plainly inside the folder,
// or that leads out of it through a symbolic link.
var ErrOutside = errors.New("path leads outside the run folder")

// ErrNotFile is returned by Open for a name that is a folder, a device or
// anything else but a regular file.
var ErrNotFile = errors.New("not a regular file")

// ErrTooLarge is returned by Create for a body over its limit.
var ErrTooLarge = errors.New("file over the size limit")

// Dir is a folder whose files are opened by name, never outside it. It is
// safe for concurrent use. Close it when done.
type Dir struct {
	root *os.Root
}

// Open opens the folder at dir.
func Open(dir string) (*Dir, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &Dir{root: root}, nil
}

// Close releases the folder.
func (d *Dir) Close() error { return d.root.Close() }

// Sub opens the folder name inside d as a Dir of its own.
func (d *Dir) Sub(name string) (*Dir, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	root, err := d.root.OpenRoot(name)
	if err != nil {
		return nil, wrap(err)
	}
	return &Dir{root: root}, nil
}

// MkdirAll creates the folder name inside d and its missing parents, and
// syncs the folders that hold the new entries.
func (d *Dir) MkdirAll(name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	return wrap(atomicfile.MkdirAllIn(d.root, name))
}

// CheckName returns an error wrapping ErrOutside unless name is a plain
// slash-separated path inside a folder: not empty, not absolute, without
// "..", "." or empty parts, backslashes or NUL.
func CheckName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00") {
		return fmt.Errorf("%q: %w", name, ErrOutside)
	}
	for part := range strings.SplitSeq(name, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("%q: %w", name, ErrOutside)
		}
	}
	return nil
}

// checkNameOrTop is CheckName, allowing "." for the folder itself.
func checkNameOrTop(name string) error {
	if name == "." {
		return nil
	}
	return CheckName(name)
}

// Open opens the regular file name for reading, and returns its
// information. A missing file is an error wrapping fs.ErrNotExist; a
// folder or device, one wrapping ErrNotFile.
func (d *Dir) Open(name string) (*os.File, fs.FileInfo, error) {
	if err := CheckName(name); err != nil {
		return nil, nil, err
	}
	f, err := d.root.Open(name)
	if err != nil {
		return nil, nil, wrap(err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s: %w", name, ErrNotFile)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// Stat returns the information of name, following links that stay inside
// d; "." is the folder itself.
func (d *Dir) Stat(name string) (fs.FileInfo, error) {
	if err := checkNameOrTop(name); err != nil {
		return nil, err
	}
	fi, err := d.root.Stat(name)
	return fi, wrap(err)
}

// ReadDir returns the entries of the folder name ("." for d itself),
// sorted by name, each described as Stat describes it: a link that stays
// inside d shows as its target. Links that lead out of d, or to nothing,
// are left out.
func (d *Dir) ReadDir(name string) ([]fs.FileInfo, error) {
	if err := checkNameOrTop(name); err != nil {
		return nil, err
	}
	f, err := d.root.Open(name)
	if err != nil {
		return nil, wrap(err)
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, wrap(err)
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	out := make([]fs.FileInfo, 0, len(entries))
	for _, e := range entries {
		fi, err := d.root.Stat(path.Join(name, e.Name()))
		if err != nil {
			continue
		}
		out = append(out, fi)
	}
	return out, nil
}

// Written is what Create wrote.
type Written struct {
	Size   int64
	SHA256 string // lower-case hex
}

// Create writes the file name, and the folders it lacks, with what it
// reads from r, computing its sha256 on the way: into a temporary file
// beside it (named "." + its name + ".tmp…"), synced, renamed over name
// and the folder synced, so that name holds the old content or the whole
// new one. A body of more than max bytes fails with ErrTooLarge (max 0:
// no limit). If name is a link, the link is replaced, not its target.
func (d *Dir) Create(name string, r io.Reader, max int64) (Written, error) {
	if err := CheckName(name); err != nil {
		return Written{}, err
	}
	h := sha256.New()
	var n int64
	err := atomicfile.WriteIn(d.root, name, func(w io.Writer) error {
		src := r
		if max > 0 {
			src = io.LimitReader(r, max+1)
		}
		var err error
		n, err = io.Copy(io.MultiWriter(w, h), src)
		if err == nil && max > 0 && n > max {
			err = fmt.Errorf("%s: %w (%d bytes)", name, ErrTooLarge, max)
		}
		return err
	})
	if err != nil {
		return Written{}, wrap(err)
	}
	return Written{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// OpenAppend opens the regular file name for appending, creating it (mode
// 0644) if missing; its folder must exist. created tells whether it did.
func (d *Dir) OpenAppend(name string) (f *os.File, created bool, err error) {
	if err := CheckName(name); err != nil {
		return nil, false, err
	}
	f, err = d.root.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = d.root.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o644)
		created = err == nil
	}
	if err != nil {
		return nil, false, wrap(err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s: %w", name, ErrNotFile)
		}
		return nil, false, err
	}
	return f, created, nil
}

// Truncate cuts the regular file name to size bytes.
func (d *Dir) Truncate(name string, size int64) error {
	if err := CheckName(name); err != nil {
		return err
	}
	f, err := d.root.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return wrap(err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s: %w", name, ErrNotFile)
		}
		return err
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// escapes is the text of os.Root's refusal of a path that leads out of
// it; the os package does not export the error itself. The tests of this
// package catch a change of it.
const escapes = "path escapes from parent"

// wrap adds ErrOutside to os.Root's refusals, keeping the rest as is.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if e.Error() == escapes {
			return fmt.Errorf("%w: %w", ErrOutside, err)
		}
	}
	return err
}
