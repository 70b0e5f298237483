// Package testfs helps tests put files in the states that users meet.
package testfs

import (
	"os"
	"os/exec"
	"testing"
)

// ReadOnly makes a folder and a file in it unwritable until the test ends:
// with chattr +i when running as root, whom permissions do not stop, else
// with chmod. It skips the test where neither works.
func ReadOnly(t *testing.T, dir, file string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(file, 0o444); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755); os.Chmod(file, 0o644) })
		return
	}
	if out, err := exec.Command("chattr", "+i", file, dir).CombinedOutput(); err != nil {
		t.Skipf("cannot make files read-only as root here (chattr: %v %s)", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", file, dir).Run() })
}
