package mlflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/runlog/runlog/internal/mlflow/mlbackend"
	"github.com/runlog/runlog/internal/runfmt"
)

// MLflow experiments are runlog projects. Runlog has no place for what
// MLflow says of an experiment beyond its runs — its id, its life-cycle
// stage, its tags, an experiment with no run yet — so the backend keeps it
// in one small document, "experiments" (Backend.Document): on a home the
// file <home>/mlflow/experiments.json, written whole through a temporary
// file and a rename, under a lock that serializes the processes serving
// the same home; on a team server a row of PostgreSQL, changed under the
// row's lock, so that replicas creating experiments at once never lose one
// and never give two the same id.
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

// registryFile is the content of the "experiments" document.
type registryFile struct {
	Format      int          `json:"format"`
	NextID      int64        `json:"next_id"`
	Experiments []experiment `json:"experiments"`
}

// registryDoc is the name of the registry's document.
const registryDoc = "experiments"

// registry reads and changes the registry's document. It keeps the
// document's content as it last read it, decoded, and decodes it again
// only when it changed.
type registry struct {
	b   mlbackend.Backend
	now func() time.Time

	mu   sync.Mutex
	raw  []byte // the document as last read
	data registryFile
}

func newRegistry(b mlbackend.Backend, now func() time.Time) *registry {
	return &registry{b: b, now: now}
}

// decodeRegistry decodes the document raw (nil for none), with the
// default experiment added if it lacks it.
func decodeRegistry(raw []byte) (registryFile, error) {
	d := registryFile{Format: 1, NextID: 1}
	if raw != nil {
		if err := json.Unmarshal(raw, &d); err != nil {
			return d, fmt.Errorf("read the experiments: %w", err)
		}
	}
	for _, e := range d.Experiments {
		if e.ID == defaultExperimentID {
			return d, nil
		}
	}
	d.Experiments = append([]experiment{{ID: defaultExperimentID, Name: defaultExperimentName,
		Project: defaultProject, Stage: stageActive}}, d.Experiments...)
	return d, nil
}

// list returns a copy of every experiment.
func (g *registry) list(ctx context.Context) ([]experiment, error) {
	raw, err := g.b.Document(ctx, registryDoc)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.data.Format == 0 || !bytes.Equal(raw, g.raw) {
		d, err := decodeRegistry(raw)
		if err != nil {
			return nil, err
		}
		g.raw, g.data = raw, d
	}
	return slices.Clone(g.data.Experiments), nil
}

// find returns the experiment that match says is the one.
func (g *registry) find(ctx context.Context, match func(*experiment) bool) (experiment, bool, error) {
	exps, err := g.list(ctx)
	if err != nil {
		return experiment{}, false, err
	}
	for i := range exps {
		if match(&exps[i]) {
			return exps[i], true, nil
		}
	}
	return experiment{}, false, nil
}

func (g *registry) byID(ctx context.Context, id string) (experiment, bool, error) {
	return g.find(ctx, func(e *experiment) bool { return e.ID == id })
}

// byName finds an experiment by its MLflow name, or else by the name of
// its project ("default" finds "Default").
func (g *registry) byName(ctx context.Context, name string) (experiment, bool, error) {
	e, ok, err := g.find(ctx, func(e *experiment) bool { return e.Name == name })
	if ok || err != nil {
		return e, ok, err
	}
	return g.find(ctx, func(e *experiment) bool { return e.Project == name })
}

// update changes the document under the backend's lock: it reads the
// latest content, lets fn change it and writes it back.
func (g *registry) update(ctx context.Context, fn func(d *registryFile) error) error {
	return g.b.UpdateDocument(ctx, registryDoc, func(old []byte) ([]byte, error) {
		d, err := decodeRegistry(old)
		if err != nil {
			return nil, err
		}
		if err := fn(&d); err != nil {
			return nil, err
		}
		raw, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			return nil, err
		}
		return append(raw, '\n'), nil
	})
}

// ensure returns the experiments of projects, giving an id to each
// project that has none yet.
func (g *registry) ensure(ctx context.Context, projects []string) (map[string]experiment, error) {
	out := map[string]experiment{}
	exps, err := g.list(ctx)
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
	err = g.update(ctx, func(d *registryFile) error {
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
func (g *registry) create(ctx context.Context, name string, tags map[string]string) (experiment, error) {
	var e experiment
	err := g.update(ctx, func(d *registryFile) error {
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
func (g *registry) change(ctx context.Context, id string, fn func(d *registryFile, e *experiment) error) error {
	return g.update(ctx, func(d *registryFile) error {
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
