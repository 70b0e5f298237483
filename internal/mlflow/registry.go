package mlflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/runlog/runlog/internal/atomicfile"
	"github.com/runlog/runlog/internal/runfmt"
)

// MLflow experiments are runlog projects. Runlog has no place for what
// MLflow says of an experiment beyond its runs — its id, its life-cycle
// stage, its tags, an experiment with no run yet — so the home keeps it in
// one small file, <home>/mlflow/experiments.json, written whole through a
// temporary file and a rename, under a lock that serializes the processes
// serving the same home.
//
// Ids are numbers given in order, "0" being MLflow's "Default" experiment
// (the project "default"). A project that only runlog's own clients wrote
// to gets the next id the first time MLflow asks about it. A renamed
// experiment keeps its project: the runs it holds name that project in
// their run folders, which only their own writers may change.

// Life-cycle stages of experiments and runs.
const (
	stageActive  = "active"
	stageDeleted = "deleted"
)

// Names of the default experiment and of its project.
const (
	defaultExperimentID   = "0"
	defaultExperimentName = "Default"
	defaultProject        = "default"
)

// experiment is MLflow's view of a project.
type experiment struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`    // MLflow's name
	Project string            `json:"project"` // the runlog project of its runs
	Stage   string            `json:"lifecycle_stage"`
	Created int64             `json:"creation_time"` // unix milliseconds
	Updated int64             `json:"last_update_time"`
	Tags    map[string]string `json:"tags,omitempty"`
	// Requested is an artifact_location that an older runlog accepted and
	// ignored; it is kept, and never used.
	Requested string `json:"requested_artifact_location,omitempty"`
}

// registryFile is the content of experiments.json.
type registryFile struct {
	Format      int          `json:"format"`
	NextID      int64        `json:"next_id"`
	Experiments []experiment `json:"experiments"`
}

// registry reads and writes experiments.json. It keeps the file's content
// in memory and reads it again when another process changed it.
type registry struct {
	dir string
	now func() time.Time

	mu    sync.Mutex
	data  registryFile
	size  int64
	mtime time.Time
	read  bool
}

func newRegistry(home string, now func() time.Time) *registry {
	return &registry{dir: filepath.Join(home, "mlflow"), now: now}
}

func (g *registry) path() string { return filepath.Join(g.dir, "experiments.json") }

// refresh reads the file again if it changed. The caller holds g.mu.
func (g *registry) refresh() error {
	fi, err := os.Stat(g.path())
	if errors.Is(err, fs.ErrNotExist) {
		if !g.read {
			g.data = registryFile{Format: 1, NextID: 1}
			g.withDefault()
			g.read = true
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read experiments: %w", err)
	}
	if g.read && fi.Size() == g.size && fi.ModTime().Equal(g.mtime) {
		return nil
	}
	raw, err := os.ReadFile(g.path())
	if err != nil {
		return fmt.Errorf("read experiments: %w", err)
	}
	var d registryFile
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("read %s: %w", g.path(), err)
	}
	g.data, g.size, g.mtime, g.read = d, fi.Size(), fi.ModTime(), true
	g.withDefault()
	return nil
}

// withDefault adds the default experiment if the file lacks it.
func (g *registry) withDefault() {
	for _, e := range g.data.Experiments {
		if e.ID == defaultExperimentID {
			return
		}
	}
	g.data.Experiments = append([]experiment{{ID: defaultExperimentID, Name: defaultExperimentName,
		Project: defaultProject, Stage: stageActive}}, g.data.Experiments...)
}

// list returns a copy of every experiment.
func (g *registry) list() ([]experiment, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.refresh(); err != nil {
		return nil, err
	}
	return slices.Clone(g.data.Experiments), nil
}

// find returns the experiment that match says is the one.
func (g *registry) find(match func(*experiment) bool) (experiment, bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.refresh(); err != nil {
		return experiment{}, false, err
	}
	for i := range g.data.Experiments {
		if match(&g.data.Experiments[i]) {
			return g.data.Experiments[i], true, nil
		}
	}
	return experiment{}, false, nil
}

func (g *registry) byID(id string) (experiment, bool, error) {
	return g.find(func(e *experiment) bool { return e.ID == id })
}

// byName finds an experiment by its MLflow name, or else by the name of
// its project ("default" finds "Default").
func (g *registry) byName(name string) (experiment, bool, error) {
	e, ok, err := g.find(func(e *experiment) bool { return e.Name == name })
	if ok || err != nil {
		return e, ok, err
	}
	return g.find(func(e *experiment) bool { return e.Project == name })
}

// update changes the file under the lock of the home's MLflow folder: it
// reads the latest content, lets fn change it and writes it back.
func (g *registry) update(fn func(d *registryFile) error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := os.MkdirAll(g.dir, 0o755); err != nil {
		return fmt.Errorf("write experiments: %w", err)
	}
	unlock, err := lockPath(filepath.Join(g.dir, "lock"))
	if err != nil {
		return fmt.Errorf("lock experiments: %w", err)
	}
	defer unlock()
	g.read = false // read what another process may have written
	if err := g.refresh(); err != nil {
		return err
	}
	d := g.data
	d.Experiments = slices.Clone(d.Experiments)
	for i := range d.Experiments {
		d.Experiments[i].Tags = cloneMap(d.Experiments[i].Tags)
	}
	if err := fn(&d); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(g.path(), append(raw, '\n')); err != nil {
		return fmt.Errorf("write experiments: %w", err)
	}
	g.data, g.read = d, false // stat again on the next read
	return nil
}

// ensure returns the experiments of projects, giving an id to each
// project that has none yet.
func (g *registry) ensure(projects []string) (map[string]experiment, error) {
	out := map[string]experiment{}
	exps, err := g.list()
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, p := range projects {
		if e, ok := experimentOf(exps, p); ok {
			out[p] = e
		} else if !slices.Contains(missing, p) {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	err = g.update(func(d *registryFile) error {
		now := g.now().UnixMilli()
		for _, p := range missing {
			if e, ok := experimentOf(d.Experiments, p); ok {
				out[p] = e
				continue
			}
			e := experiment{ID: strconv.FormatInt(d.NextID, 10), Name: p, Project: p, Stage: stageActive, Created: now, Updated: now}
			d.NextID++
			d.Experiments = append(d.Experiments, e)
			out[p] = e
		}
		return nil
	})
	return out, err
}

func experimentOf(exps []experiment, project string) (experiment, bool) {
	for _, e := range exps {
		if e.Project == project {
			return e, true
		}
	}
	return experiment{}, false
}

// create adds an experiment for a new project.
func (g *registry) create(name string, tags map[string]string) (experiment, error) {
	var e experiment
	err := g.update(func(d *registryFile) error {
		for _, x := range d.Experiments {
			if x.Name == name || x.Project == name {
				return errorf(codeAlreadyExists, "Experiment '%s' already exists.", name)
			}
		}
		now := g.now().UnixMilli()
		e = experiment{ID: strconv.FormatInt(d.NextID, 10), Name: name, Project: name, Stage: stageActive,
			Created: now, Updated: now, Tags: tags}
		d.NextID++
		d.Experiments = append(d.Experiments, e)
		return nil
	})
	return e, err
}

// change applies fn to the experiment id.
func (g *registry) change(id string, fn func(d *registryFile, e *experiment) error) error {
	return g.update(func(d *registryFile) error {
		for i := range d.Experiments {
			if d.Experiments[i].ID == id {
				if err := fn(d, &d.Experiments[i]); err != nil {
					return err
				}
				d.Experiments[i].Updated = g.now().UnixMilli()
				return nil
			}
		}
		return errorf(codeNotFound, "No Experiment with id=%s exists", id)
	})
}

// checkExperimentName checks a name MLflow gives an experiment, which
// becomes a runlog project name.
func checkExperimentName(name string) error {
	if name == "" {
		return invalidf("Invalid experiment name: ''. Experiment names must be non-empty.")
	}
	if err := runfmt.CheckName("experiment name (a runlog project)", name); err != nil {
		return invalidf("%v", err)
	}
	return nil
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
