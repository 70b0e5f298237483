module github.com/runlog/runlog

go 1.26
