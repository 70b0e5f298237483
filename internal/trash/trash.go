// Package trash moves run folders to and from the trash of a home
// (layout.TrashDir): `runlog rm` and `runlog restore`, and the server's
// /api/v1/runs/{id}/trash and /api/v1/trash/{id}/restore.
//
// A removed run's folder is moved, byte for byte, to trash/runs/<id>, and
// what runlog knows of its removal to trash/info/<id>.json; restoring
// moves the folder back, as it was. Nothing here writes the store: ingest
// forgets a run whose folder is gone, and indexes a restored one again.
// Nothing here deletes from the trash either, but Purge.
package trash

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/runlog/runlog/internal/atomicfile"
	"github.com/runlog/runlog/internal/layout"
)

// ErrNotFound is returned for a run that is not in the trash.
var ErrNotFound = errors.New("not in the trash")

// ErrExists is returned when a move would put a folder where one is
// already: a run removed while the trash holds a run of its id, or
// restored while the home holds one.
var ErrExists = errors.New("already there")

// exists is an error that is ErrExists, with its own message.
type exists string

func (e exists) Error() string        { return string(e) }
func (e exists) Is(target error) bool { return target == ErrExists }

// Info is what the trash keeps of a removed run beside its folder
// (layout.TrashInfo), so that the trash can be listed without reading the
// folders.
type Info struct {
	ID      string  `json:"id"`
	Name    string  `json:"name"`
	Project string  `json:"project"`
	Status  string  `json:"status"`
	Removed float64 `json:"removed"` // unix seconds; 0 if unknown
	By      string  `json:"by"`      // user@host
}

// Move moves the folder of run info.ID into the trash of home, after
// writing its info file; info.Removed is when, info.By who.
func Move(home string, info Info) error {
	id := info.ID
	if err := layout.CheckID(id); err != nil {
		return err
	}
	src := layout.RunDir(home, id)
	if _, err := os.Stat(filepath.Join(src, layout.RunLogFile)); err != nil {
		return fmt.Errorf("run %s has no folder in %s to move: %w", id, filepath.Join(home, layout.RunsDir), err)
	}
	dst := layout.TrashRunDir(home, id)
	if _, err := os.Lstat(dst); err == nil {
		old, _ := Lookup(home, id)
		return exists(fmt.Sprintf("run %s: a run with this id is in the trash already (removed %s): delete it with `runlog rm --purge %s`, or restore it first",
			id, When(old.Removed), id))
	}
	infoPath := layout.TrashInfo(home, id)
	for _, dir := range []string{filepath.Dir(dst), filepath.Dir(infoPath)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("make the trash: %w", err)
		}
	}
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(infoPath, append(data, '\n')); err != nil {
		return fmt.Errorf("run %s: %w", id, err)
	}
	if err := os.Rename(src, dst); err != nil {
		os.Remove(infoPath)
		return fmt.Errorf("move run %s to the trash: %w", id, err)
	}
	atomicfile.SyncDir(filepath.Dir(src))
	atomicfile.SyncDir(filepath.Dir(dst))
	return nil
}

// Restore moves the folder of run id back from the trash of home to its
// runs, and removes its info file; it returns the folder. A run whose id
// is in the home's runs again is not restored over it.
func Restore(home, id string) (string, error) {
	if _, ok := Lookup(home, id); !ok {
		return "", fmt.Errorf("run %q is %w: `runlog restore` lists what is", id, ErrNotFound)
	}
	dir := layout.RunDir(home, id)
	if _, err := os.Lstat(dir); err == nil {
		return "", exists(fmt.Sprintf("run %s is in %s again: restoring would put two runs in one folder; move that folder out of the home first, or delete the trashed copy with `runlog rm --purge %s`",
			id, filepath.Join(home, layout.RunsDir), id))
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(layout.TrashRunDir(home, id), dir); err != nil {
		return "", fmt.Errorf("restore run %s: %w", id, err)
	}
	atomicfile.SyncDir(filepath.Dir(dir))
	os.Remove(layout.TrashInfo(home, id))
	return dir, nil
}

// Purge deletes run id from the trash of home for good.
func Purge(home, id string) error {
	if err := layout.CheckID(id); err != nil {
		return err
	}
	if err := os.RemoveAll(layout.TrashRunDir(home, id)); err != nil {
		return fmt.Errorf("delete run %s: %w", id, err)
	}
	if err := os.Remove(layout.TrashInfo(home, id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete run %s: %w", id, err)
	}
	return nil
}

// List returns what the trash of home holds, most recently removed first.
// A folder without a readable info file is listed by its id alone, with
// its removal time unknown.
func List(home string) ([]Info, error) {
	entries, err := os.ReadDir(filepath.Join(home, layout.TrashDir, layout.RunsDir))
	if errors.Is(err, os.ErrNotExist) {
		return []Info{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list the trash: %w", err)
	}
	out := []Info{}
	for _, ent := range entries {
		if !ent.IsDir() || layout.CheckID(ent.Name()) != nil {
			continue
		}
		info, _ := Lookup(home, ent.Name())
		out = append(out, info)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Removed > out[j].Removed })
	return out, nil
}

// Lookup returns what the trash of home says of run id, and whether the
// run's folder is in it.
func Lookup(home, id string) (Info, bool) {
	info := Info{ID: id}
	if layout.CheckID(id) != nil {
		return info, false
	}
	if fi, err := os.Stat(layout.TrashRunDir(home, id)); err != nil || !fi.IsDir() {
		return info, false
	}
	if data, err := os.ReadFile(layout.TrashInfo(home, id)); err == nil {
		json.Unmarshal(data, &info)
		info.ID = id
	}
	return info, true
}

// Find finds the run ref names among those in the trash: an id, a unique
// id prefix or a unique name.
func Find(all []Info, ref string) (Info, error) {
	var byPrefix, byName []Info
	for _, info := range all {
		switch {
		case info.ID == ref:
			return info, nil
		case strings.HasPrefix(info.ID, ref):
			byPrefix = append(byPrefix, info)
		case info.Name == ref:
			byName = append(byName, info)
		}
	}
	for _, found := range [][]Info{byPrefix, byName} {
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		}
		var ids []string
		for _, info := range found {
			name := info.Name
			if name == "" {
				name = "-"
			}
			ids = append(ids, info.ID+" ("+name+")")
		}
		return Info{}, fmt.Errorf("%q matches %d runs in the trash: %s; use an id", ref, len(found), strings.Join(ids, ", "))
	}
	return Info{}, fmt.Errorf("run %q is %w: `runlog restore` lists what is", ref, ErrNotFound)
}

// When formats a removal time as the messages of this package and the
// CLI show it: local time to the minute, "-" if unknown.
func When(t float64) string {
	if t <= 0 {
		return "-"
	}
	return time.Unix(int64(t), 0).Local().Format("2006-01-02 15:04")
}
