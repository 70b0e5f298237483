package remote

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
)

// policyCases are testdata/upload_policy.json, the upload policies' cases
// that the Python client's tests (clients/python/tests/test_upload.py)
// read too, so that both clients choose the same files.
type policyCases struct {
	Cases []struct {
		Name      string            `json:"name"`
		Artifacts []runfmt.Artifact `json:"artifacts"`
		Policies  map[Policy]struct {
			Choose [][2]bool `json:"choose"`
			Queue  []string  `json:"queue"`
			Select []string  `json:"select"`
		} `json:"policies"`
	} `json:"cases"`
}

func TestUploadPolicyVectors(t *testing.T) {
	data, err := os.ReadFile("testdata/upload_policy.json")
	if err != nil {
		t.Fatal(err)
	}
	var pc policyCases
	if err := json.Unmarshal(data, &pc); err != nil {
		t.Fatal(err)
	}
	if len(pc.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range pc.Cases {
		for policy, want := range c.Policies {
			ch := Chooser{Policy: policy}
			st := UploadState{Acked: map[string]string{}}
			var choose [][2]bool
			for _, a := range c.Artifacts {
				up, last := ch.Choose(a)
				choose = append(choose, [2]bool{up, last})
				if up {
					st.Add(PendingFile{Path: a.Path, SHA256: a.Path, Last: last})
				}
			}
			queue := []string{}
			for _, f := range st.Pending {
				queue = append(queue, f.Path)
			}
			sel := []string{}
			for _, a := range Select(policy, c.Artifacts) {
				sel = append(sel, a.Path)
			}
			if !slices.Equal(choose, want.Choose) {
				t.Errorf("%s, %s: Choose %v, want %v", c.Name, policy, choose, want.Choose)
			}
			if !slices.Equal(queue, want.Queue) {
				t.Errorf("%s, %s: queue %q, want %q", c.Name, policy, queue, want.Queue)
			}
			if !slices.Equal(sel, want.Select) {
				t.Errorf("%s, %s: Select %q, want %q", c.Name, policy, sel, want.Select)
			}
		}
	}
}
