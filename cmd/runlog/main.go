// Command runlog tracks training runs. See `runlog --help`.
package main

import (
	"os"

	"github.com/runlog/runlog/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
