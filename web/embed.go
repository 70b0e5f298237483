// Package web holds runlog's web UI: its source (src/, built with Vite by
// `npm run build` into dist/) and the built files, embedded in the runlog
// binary.
//
// dist/ is committed, so that a binary built without Node — `go install
// github.com/runlog/runlog/cmd/runlog@<version>`, the wheels of
// scripts/build-wheels.sh — serves the UI; scripts/test.sh rebuilds it and
// fails when the committed build is not that of web/src (dist/README.md).
// If dist/ holds only its README (a build deleted), the server shows a page
// saying how to build the UI.
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
