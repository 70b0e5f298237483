package runlog

// SetFileForTest replaces the run.log writer of r, to simulate a failing disk.
func SetFileForTest(r *Run, f fileWriter) {
	r.w.f = f
}

// FileForTest returns the run.log writer of r.
func FileForTest(r *Run) fileWriter { return r.w.f }
