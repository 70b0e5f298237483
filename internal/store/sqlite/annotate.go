package sqlite

import "github.com/runlog/runlog/internal/store/tables"

// annotate applies the batch's annotations to the run's tags, notes,
// hypothesis, name and archived state.
func (w *batchWriter) annotate() error {
	var a tables.Annotated
	err := w.tx.QueryRowContext(w.ctx, "SELECT tags, notes, hypothesis, name, archived FROM runs WHERE id = ?", w.b.RunID).
		Scan(&a.Tags, &a.Notes, &a.Hypothesis, &a.Name, &a.Archived)
	if err != nil {
		return err
	}
	if err := a.Apply(w.b.Annotations); err != nil {
		return err
	}
	return w.exec("UPDATE runs SET tags = ?, notes = ?, hypothesis = ?, name = ?, archived = ? WHERE id = ?",
		a.Tags, a.Notes, a.Hypothesis, a.Name, a.Archived, w.b.RunID)
}
