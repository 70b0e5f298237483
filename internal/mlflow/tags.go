package mlflow

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// MLflow's tags that runlog keeps as fields of the run.
const (
	tagRunName = "mlflow.runName"
	tagParent  = "mlflow.parentRunId"
	tagNote    = "mlflow.note.content"
	tagUser    = "mlflow.user"
	tagSource  = "mlflow.source.name"
	tagCommit  = "mlflow.source.git.commit"
	tagBranch  = "mlflow.source.git.branch"
	tagRepo    = "mlflow.source.git.repoURL"
)

// deletedTag is the runlog tag of a run MLflow deleted (runs/delete):
// runlog shows it, and runs/restore takes it off.
const deletedTag = "deleted"

// How MLflow's tags map to a runlog run:
//
//   - mlflow.runName, mlflow.parentRunId and mlflow.user are the run's name,
//     parent and user, in its header;
//   - mlflow.note.content is the run's notes;
//   - any other tag whose key starts with "mlflow." (MLflow's own: the
//     source, the git commit, logged models) is a value of the run's
//     summary, under the tag's key;
//   - every other tag is a runlog tag "key=value", or "key" alone when the
//     value is empty, so that `runlog ls --tag key=value` finds it; one too
//     long for a runlog tag (256 bytes) or with control characters is a
//     summary value instead.
//
// Read back, a run's tags are: its runlog tags (but "deleted"), split at
// the first "=" (MLflow's keys have none); every summary value that is a
// string; and the four fields above, when set.

// runTags returns the MLflow tags of r, sorted by key.
func runTags(r *store.Run) []keyValue {
	tags := map[string]string{}
	for _, t := range r.Tags {
		if t == deletedTag {
			continue
		}
		k, v, _ := strings.Cut(t, "=")
		tags[k] = v
	}
	for k, v := range summaryStrings(r.Summary) {
		tags[k] = v
	}
	for k, v := range map[string]string{tagRunName: r.Name, tagParent: r.Parent, tagNote: r.Notes, tagUser: r.User} {
		if v != "" {
			tags[k] = v
		}
	}
	out := make([]keyValue, 0, len(tags))
	for k, v := range tags {
		out = append(out, keyValue{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// summaryStrings returns the values of a run's summary that are strings.
func summaryStrings(raw json.RawMessage) map[string]string {
	if len(raw) == 0 {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range m {
		var s string
		if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
			out[k] = s
		}
	}
	return out
}

// tagChange is what setting and deleting tags does to a run: a header with
// a new name, parent or user (only for a run whose run.log this handler
// writes), an annotate record for runlog tags and notes, and a summary
// record.
type tagChange struct {
	run      store.Run // the run as it will be
	header   bool
	annotate runfmt.Annotate
	summary  map[string]any // nil values delete keys
}

func newTagChange(r store.Run) *tagChange {
	r.Tags = slices.Clone(r.Tags)
	return &tagChange{run: r}
}

// label returns the runlog tag for an MLflow user tag, and whether one can
// hold it.
func label(key, value string) (string, bool) {
	l := key
	if value != "" {
		l += "=" + value
	}
	return l, l != deletedTag && runfmt.CheckName("tag", l) == nil
}

// isLabelOf reports whether runlog tag l holds the MLflow tag key.
func isLabelOf(l, key string) bool {
	return l == key || strings.HasPrefix(l, key+"=")
}

// set records that tag key is set to value.
func (c *tagChange) set(key, value string) error {
	switch key {
	case tagRunName, tagParent, tagUser:
		field := map[string]*string{tagRunName: &c.run.Name, tagParent: &c.run.Parent, tagUser: &c.run.User}[key]
		if *field != value {
			*field, c.header = value, true
		}
		return nil
	case tagNote:
		if c.run.Notes != value {
			c.run.Notes = value
			c.annotate.Notes = &c.run.Notes
		}
		return nil
	}
	sum := summaryStrings(c.run.Summary)
	l, fits := label(key, value)
	if strings.HasPrefix(key, "mlflow.") || !fits || (len(c.run.Tags) >= runfmt.MaxTags && !c.hasLabel(key)) {
		if old, ok := sum[key]; ok && old == value {
			return nil
		}
		c.dropLabels(key)
		c.setSummary(key, value)
		return nil
	}
	if slices.Contains(c.run.Tags, l) && !c.hasOtherLabel(key, l) {
		if _, ok := sum[key]; ok {
			c.setSummary(key, nil)
		}
		return nil
	}
	c.dropLabels(key)
	if _, ok := sum[key]; ok {
		c.setSummary(key, nil)
	}
	c.run.Tags = append(c.run.Tags, l)
	c.annotate.AddTags = append(c.annotate.AddTags, l)
	c.annotate.RemoveTags = slices.DeleteFunc(c.annotate.RemoveTags, func(t string) bool { return t == l })
	return nil
}

// del records that tag key is deleted; it fails if the run has no such
// tag.
func (c *tagChange) del(key string) error {
	switch key {
	case tagRunName, tagParent, tagUser, tagNote:
		field := map[string]*string{tagRunName: &c.run.Name, tagParent: &c.run.Parent, tagUser: &c.run.User, tagNote: &c.run.Notes}[key]
		if *field == "" {
			return c.missing(key)
		}
		*field = ""
		if key == tagNote {
			c.annotate.Notes = &c.run.Notes
		} else {
			c.header = true
		}
		return nil
	}
	_, inSummary := summaryStrings(c.run.Summary)[key]
	if !inSummary && !c.hasLabel(key) {
		return c.missing(key)
	}
	c.dropLabels(key)
	if inSummary {
		c.setSummary(key, nil)
	}
	return nil
}

func (c *tagChange) missing(key string) error {
	return errorf(codeNotFound, "No tag with name: %s in run with id %s", key, c.run.ID)
}

func (c *tagChange) hasLabel(key string) bool {
	return slices.ContainsFunc(c.run.Tags, func(l string) bool { return l != deletedTag && isLabelOf(l, key) })
}

func (c *tagChange) hasOtherLabel(key, keep string) bool {
	return slices.ContainsFunc(c.run.Tags, func(l string) bool { return l != keep && isLabelOf(l, key) })
}

func (c *tagChange) dropLabels(key string) {
	c.run.Tags = slices.DeleteFunc(c.run.Tags, func(l string) bool {
		if l == deletedTag || !isLabelOf(l, key) {
			return false
		}
		c.annotate.RemoveTags = append(c.annotate.RemoveTags, l)
		c.annotate.AddTags = slices.DeleteFunc(c.annotate.AddTags, func(t string) bool { return t == l })
		return true
	})
}

// setSummary sets (or with nil, deletes) a summary value and keeps the
// run's summary up to date, so that later changes in the same request see
// it.
func (c *tagChange) setSummary(key string, v any) {
	if c.summary == nil {
		c.summary = map[string]any{}
	}
	c.summary[key] = v
	m := map[string]json.RawMessage{}
	json.Unmarshal(c.run.Summary, &m)
	if v == nil {
		delete(m, key)
	} else {
		b, _ := json.Marshal(v)
		m[key] = b
	}
	c.run.Summary, _ = json.Marshal(m)
}

// empty reports whether the change changes nothing.
func (c *tagChange) empty() bool {
	a := c.annotate
	return !c.header && a.Notes == nil && len(a.AddTags) == 0 && len(a.RemoveTags) == 0 && len(c.summary) == 0
}

// encode appends the change's records. A new header carries the whole
// identity of the run as it will be; only a run.log this handler created
// may take one.
func (c *tagChange) encode(rs *records, primary bool, now float64) error {
	if c.header {
		if !primary {
			return invalidf("run %s was not created through MLflow: runlog changes the name, parent and user only of runs created through MLflow", c.run.ID)
		}
		rs.json(runfmt.TypeHeader, headerOf(&c.run))
	}
	a := c.annotate
	if a.Notes != nil || len(a.AddTags) > 0 || len(a.RemoveTags) > 0 {
		a.Time = now
		rs.json(runfmt.TypeAnnotate, a)
	}
	if len(c.summary) > 0 {
		rs.json(runfmt.TypeSummary, c.summary)
	}
	return nil
}

// headerOf returns the header that states r's identity as it is now. A
// run.log takes a later header as the run's new identity.
func headerOf(r *store.Run) runfmt.Header {
	return runfmt.Header{Format: 1, ID: r.ID, Name: r.Name, Project: r.Project, Group: r.Group, Tags: r.Tags,
		Notes: r.Notes, Hypothesis: r.Hypothesis, Time: r.Start, Host: r.Host, User: r.User, Command: r.Command,
		Dir: r.Dir, Git: r.Git, Env: r.Env, Writer: writerName, Parent: r.Parent}
}

// checkName checks a metric, param or tag key, the request field param,
// as MLflow's server does: letters, digits, '_', '-', '.', ' ', ':' and
// '/', and a path that names itself (no "..", no leading "/", no "a//b").
// The messages are MLflow's (mlflow/utils/validation.py).
func checkName(param, name string) error {
	if name == "" {
		return missing(param)
	}
	if len(name) > 250 {
		return invalidf("'%s' exceeds the maximum length of 250 characters", param)
	}
	if !utf8.ValidString(name) {
		return invalidValue(param, name, "Names must be valid UTF-8.")
	}
	for _, c := range name {
		if !(unicode.IsLetter(c) || unicode.IsNumber(c) || strings.ContainsRune("_-. :/", c)) {
			return invalidValue(param, name, "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).")
		}
	}
	if c := path.Clean(name); c != name || c == "." || strings.HasPrefix(c, "..") || strings.HasPrefix(c, "/") {
		return invalidValue(param, name, fmt.Sprintf("Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to %s", pyJSON(c)))
	}
	return nil
}

// Limits of MLflow's server (mlflow/utils/validation.py), in characters.
const (
	maxParamValue  = 6000
	maxTagValue    = 8000
	maxBatchParams = 100
	maxBatchTags   = 100
	maxBatchItems  = 1000
	maxBatchBytes  = 1_000_000
)

func checkTag(t keyValue) error {
	if err := checkName("key", t.Key); err != nil {
		return err
	}
	if utf8.RuneCountInString(t.Value) > maxTagValue {
		return invalidf("Tag value '%.40s…' had length %d, which exceeded length limit of %d", t.Value, utf8.RuneCountInString(t.Value), maxTagValue)
	}
	return nil
}
