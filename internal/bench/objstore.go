package bench

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/bench/objstorebench"
)

func newObjstore(stdout, stderr io.Writer) *cobra.Command {
	c := objstorebench.Default
	cmd := &cobra.Command{
		Use:   "objstore",
		Short: "A 1 GiB checkpoint uploaded to S3 through internal/objstore, beside cp (~7 min on the loaded 2-core VM)",
		Long: `Measure internal/objstore's upload of a checkpoint to S3-compatible storage
(goal ≥ 200 MB/s for 1 GiB) beside cp of the same file on this disk, in the
same run. One table:

  cp        the reference: the file copied on this disk
  curl      the server's own speed: the file in one PUT by curl -T, without
            hashing or parts (anonymous servers only)
  Put       hash once (sha256, and MD5 per part), send the parts in
            parallel, each checked by the server, then the run's manifest
  again     the same content for another run: deduplicated, hash only
  read      Open and read it back, sha256 verified

Without --endpoint it starts SeaweedFS on this machine with
scripts/seaweedfs.sh (build it once with scripts/seaweedfs.sh build). This
measures the package's path; the upload through the team server comes later.
At the default size it needs about 8 GB of scratch space (each repetition
stores the file twice in the server).`,
		Example: `  runlog-bench objstore
  runlog-bench objstore --size 268435456 --repeat 1              # a quick look
  runlog-bench objstore --endpoint http://127.0.0.1:8333         # a running server`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.Out, c.Log = stdout, stderr
			return objstorebench.Run(cmd.Context(), c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Dir, "dir", "", "scratch folder (default: a new temporary one)")
	f.BoolVar(&c.Keep, "keep", false, "keep the scratch folder")
	f.StringVar(&c.Endpoint, "endpoint", "", "an S3 server's endpoint, anonymous or with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (default: start SeaweedFS)")
	f.Int64Var(&c.Size, "size", c.Size, "bytes of the checkpoint")
	f.Int64Var(&c.PartSize, "part-size", 0, "bytes of one part (default: objstore's, 16 MiB)")
	f.IntVar(&c.Parallel, "parallel", 0, "parts sent at once (default: objstore's, 4)")
	f.IntVar(&c.Repeat, "repeat", c.Repeat, "repetitions; medians are reported")
	return cmd
}
