package sweep

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
	"github.com/runlog/runlog/internal/runner"
)

// Dir is the folder of a home that records its sweeps: <name>.json, the
// sweep; <name>.lock, held while it runs; <name>/, the files members'
// commands name (${config}, ${args_json_file}).
const Dir = "sweeps"

// Member states beside the run statuses (finished, failed, killed,
// crashed, stopped): not started yet, and running.
const (
	StatePending = "pending"
	StateRunning = "running"
)

// State is what sweeps/<name>.json records: the sweep and its members.
type State struct {
	Version     int             `json:"version"` // 1
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	File        string          `json:"file,omitempty"` // the sweep file, absolute
	Source      string          `json:"source"`         // its text when the sweep began
	Project     string          `json:"project,omitempty"`
	Program     string          `json:"program,omitempty"`
	Command     []string        `json:"command"` // with its macros
	Method      string          `json:"method"`
	Metric      *Metric         `json:"metric,omitempty"`
	Early       *EarlyTerminate `json:"early_terminate,omitempty"`
	Created     time.Time       `json:"created"`
	Updated     time.Time       `json:"updated"`
	Members     []*MemberState  `json:"members"`
}

// MemberState is a member and how far it got.
type MemberState struct {
	Member
	RunID    string `json:"run_id,omitempty"`
	State    string `json:"state"`
	ExitCode *int   `json:"exit_code,omitempty"`
	Attempts int    `json:"attempts"` // times it was started
	Reason   string `json:"reason,omitempty"`
}

// NewState is the state of a sweep about to begin.
func NewState(s *Spec, file string, source []byte, members []*Member, now time.Time) *State {
	st := &State{
		Version: 1, Name: s.Name, Description: s.Description, File: file, Source: string(source),
		Project: s.Project, Program: s.Program, Command: s.Command, Method: s.Method,
		Metric: s.Metric, Early: s.Early, Created: now.UTC(), Updated: now.UTC(),
	}
	for _, m := range members {
		st.Members = append(st.Members, &MemberState{Member: *m, State: StatePending})
	}
	return st
}

// Path returns where a sweep's state is kept in a home.
func Path(home, name string) string { return filepath.Join(home, Dir, name+".json") }

// FilesDir returns the folder of the files of a sweep's members.
func FilesDir(home, name string) string { return filepath.Join(home, Dir, name) }

// ErrNotFound is returned for a sweep the home does not record.
var ErrNotFound = errors.New("no such sweep")

// Load reads the state of a sweep.
func Load(home, name string) (*State, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(Path(home, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s; `runlog sweep ls` lists the sweeps", ErrNotFound, name)
	}
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", Path(home, name), err)
	}
	for _, m := range st.Members {
		m.Config, _ = runner.Numbers(m.Config).(map[string]any)
	}
	return &st, nil
}

// Save writes the state whole, atomically.
func (st *State) Save(home string, now time.Time) error {
	st.Updated = now.UTC()
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(Path(home, st.Name), append(data, '\n'))
}

// List returns the names of the sweeps a home records, sorted.
func List(home string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(home, Dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() && CheckName(n) == nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Counts counts the members in each state.
func (st *State) Counts() map[string]int {
	c := map[string]int{}
	for _, m := range st.Members {
		c[m.State]++
	}
	return c
}
