// Package web holds runlog's web UI: its source (built with npm into
// dist/) and the built files, embedded in the runlog binary. Until the UI
// is built, dist/ holds only a README, and the server shows a page saying
// how to build it.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built UI: index.html and its assets at the root.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path and embedded
	}
	return sub
}

// Built reports whether the UI was built before this binary was:
// dist/index.html is there.
func Built() bool {
	_, err := fs.Stat(dist, "dist/index.html")
	return err == nil
}
