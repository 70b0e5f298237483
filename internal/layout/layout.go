// Package layout knows where things live in a runlog home: the run folders,
// the files inside them and the store.
package layout

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
)

// EnvHome is the environment variable that names the home.
const EnvHome = "RUNLOG_HOME"

// DefaultHome is the home used when neither a flag nor EnvHome names one,
// relative to the working directory.
const DefaultHome = "runlog"

// Names of files in a home and in run folders.
const (
	RunsDir        = "runs"
	StoreFile      = "runlog.db"
	RunLogFile     = "run.log"
	ConfigFile     = "config.json"
	TrainingLog    = "training.log"
	CheckpointsDir = "checkpoints"
	ArtifactsDir   = "artifacts"
	MetricsCSV     = "metrics.csv"
	MetricsJSON    = "metrics.json"
	SummaryJSON    = "summary.json"
	// TrashDir holds removed runs until they are purged: each run's folder,
	// byte for byte, in TrashDir/runs/<id>, and what runlog knows of its
	// removal (when, by whom) in TrashDir/info/<id>.json. The two are kept
	// apart so that a restored folder is exactly the folder removed, and
	// an info file's name can never be a run id's.
	TrashDir = "trash"
	// TrashInfoDir is the folder of TrashDir that holds the info files.
	TrashInfoDir = "info"
)

// Home returns the home to use: explicit if it is not empty, else
// $RUNLOG_HOME, else ./runlog.
func Home(explicit string) string {
	if explicit != "" {
		return explicit
	}
	if h := os.Getenv(EnvHome); h != "" {
		return h
	}
	return DefaultHome
}

// RunDir returns the folder of run id in home.
func RunDir(home, id string) string { return filepath.Join(home, RunsDir, id) }

// RunLog returns the path of run id's run.log in home.
func RunLog(home, id string) string { return filepath.Join(home, RunsDir, id, RunLogFile) }

// TrashRunDir returns where the folder of run id lies in home's trash.
func TrashRunDir(home, id string) string { return filepath.Join(home, TrashDir, RunsDir, id) }

// TrashInfo returns the path of the info file of run id in home's trash.
func TrashInfo(home, id string) string {
	return filepath.Join(home, TrashDir, TrashInfoDir, id+".json")
}

// Store returns the path of the embedded store of home.
func Store(home string) string { return filepath.Join(home, StoreFile) }

// idAlphabet holds the characters of run ids: lower-case letters and digits,
// safe in URLs, file names and shells.
const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// IDLen is the length of generated run ids.
const IDLen = 8

// NewID returns a random run id of IDLen characters.
func NewID() string {
	var b [IDLen]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b[:])
}

// CheckID reports whether id can name a run folder: 1 to 64 characters of
// letters, digits, '-', '_' and '.', not starting with '.'.
func CheckID(id string) error {
	if id == "" || len(id) > 64 || id[0] == '.' {
		return fmt.Errorf("invalid run id %q: use 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'", id)
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return fmt.Errorf("invalid run id %q: character %q is not allowed; use letters, digits, '-', '_' or '.'", id, c)
		}
	}
	return nil
}
