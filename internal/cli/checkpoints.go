package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/display"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/summary"
)

func newCheckpoints(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "checkpoints RUN",
		Short: "List a run's checkpoints, the best one marked",
		Long: `List the checkpoints a run registered: step, file, size, the scores recorded
with them (val_loss, …), and whether the file is still there (runlog run
--keep-last deletes old ones). The best-validation checkpoint is marked *.
Checkpoints of steps a resumed run went back before are superseded: they are
no longer the best nor the latest.
Its path is what runlog run --resume RUN --from best continues from.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, r, err := e.openRun(ctx, args[0])
			if err != nil {
				return err
			}
			defer st.Close()
			arts, err := st.Artifacts(ctx, r.ID)
			if err != nil {
				return err
			}
			sum, err := summary.Load(ctx, st, r, e.now())
			if err != nil {
				return err
			}
			type row struct {
				Step       *int64         `json:"step"`
				Path       string         `json:"path"`
				Size       int64          `json:"size"`
				SHA256     string         `json:"sha256,omitempty"`
				Exists     bool           `json:"exists"`
				Superseded bool           `json:"superseded"`
				Best       bool           `json:"best"`
				Metadata   map[string]any `json:"metadata,omitempty"`
			}
			rows := []row{}
			for _, a := range arts {
				if a.Kind != runfmt.KindCheckpoint {
					continue
				}
				m, _ := runfmt.Finite(a.Metadata).(map[string]any)
				rows = append(rows, row{Step: a.Step, Path: a.Path, Size: a.Size, SHA256: a.SHA256, Superseded: a.Superseded,
					Exists: exists(r.Path, a.Path), Best: sum.Best != nil && sum.Best.Path == a.Path, Metadata: m})
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			if len(rows) == 0 {
				fmt.Fprintf(e.stdout, "run %s registered no checkpoints\n", r.ID)
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "\tSTEP\tFILE\tSIZE\tSCORES\t")
			for _, c := range rows {
				mark, step, gone := " ", "-", ""
				if c.Best {
					mark = "*"
				}
				if c.Step != nil {
					step = fmt.Sprint(*c.Step)
				}
				switch {
				case !c.Exists:
					gone = "(deleted)"
				case c.Superseded:
					gone = "(superseded: the run went back before it)"
				}
				var scores []string
				for k, v := range c.Metadata {
					if f, ok := runfmt.NumberValue(v).(float64); ok {
						scores = append(scores, k+" "+num(f))
					}
				}
				sort.Strings(scores)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", mark, step, c.Path, display.Bytes(c.Size), strings.Join(scores, ", "), gone)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
