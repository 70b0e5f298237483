package sqlite

import "encoding/json"

// annotate applies the batch's annotations to the run's tags, notes and
// hypothesis.
func (w *batchWriter) annotate() error {
	var rawTags, notes, hyp string
	err := w.tx.QueryRowContext(w.ctx, "SELECT tags, notes, hypothesis FROM runs WHERE id = ?", w.b.RunID).Scan(&rawTags, &notes, &hyp)
	if err != nil {
		return err
	}
	var tags []string
	json.Unmarshal([]byte(rawTags), &tags)
	for _, a := range w.b.Annotations {
		tags, notes, hyp = a.Apply(tags, notes, hyp)
	}
	p, err := json.Marshal(nonNil(tags))
	if err != nil {
		return err
	}
	return w.exec("UPDATE runs SET tags = ?, notes = ?, hypothesis = ? WHERE id = ?", string(p), notes, hyp, w.b.RunID)
}
