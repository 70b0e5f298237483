package sqlite

import "encoding/json"

// annotate applies the batch's annotations to the run's tags, notes,
// hypothesis, name and archived state.
func (w *batchWriter) annotate() error {
	var rawTags, notes, hyp, name string
	var archived bool
	err := w.tx.QueryRowContext(w.ctx, "SELECT tags, notes, hypothesis, name, archived FROM runs WHERE id = ?", w.b.RunID).
		Scan(&rawTags, &notes, &hyp, &name, &archived)
	if err != nil {
		return err
	}
	var tags []string
	json.Unmarshal([]byte(rawTags), &tags)
	for _, a := range w.b.Annotations {
		tags, notes, hyp = a.Apply(tags, notes, hyp)
		if a.Name != "" {
			name = a.Name
		}
		if a.Archived != nil {
			archived = *a.Archived
		}
	}
	p, err := json.Marshal(nonNil(tags))
	if err != nil {
		return err
	}
	return w.exec("UPDATE runs SET tags = ?, notes = ?, hypothesis = ?, name = ?, archived = ? WHERE id = ?",
		string(p), notes, hyp, name, archived, w.b.RunID)
}
