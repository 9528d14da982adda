package outbox

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// helperDBEnv names the database the helper process writes to.
const helperDBEnv = "OUTBOX_TEST_HELPER_DB"

// TestHelperProcess is not a test: run by TestKilledProcessLosesNoReturnedPut
// in a child process, it puts items in a loop and prints each Seq once its
// Put has returned.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperDBEnv)
	if path == "" {
		t.Skip("helper process for TestKilledProcessLosesNoReturnedPut")
	}
	s, db, err := OpenFile(path, "dev-1", Limits{}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer db.Close()
	// Bounded, so an orphaned child stops on its own.
	for i := 0; i < 100_000; i++ {
		it := telemetry(fmt.Sprintf("m%d", i))
		if i%10 == 0 {
			it.Class = ClassAlert
		}
		got, err := s.Put(it)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		// os.Stdout is unbuffered: the line is in the pipe when this returns.
		fmt.Printf("%d %d\n", got.Class, got.Seq)
	}
	os.Exit(0)
}

// TestKilledProcessLosesNoReturnedPut kills a process that is putting items
// with SIGKILL, then checks that every item whose Put had returned is in
// the store (DESIGN.md decision 5).
func TestKilledProcessLosesNoReturnedPut(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL")
	}
	path := filepath.Join(t.TempDir(), "agent.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperDBEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill the child on any path out of this test; a stuck child also ends
	// the read loop below, because its stdout closes when it dies.
	watchdog := time.AfterFunc(waitTimeout, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	const killAfter = 50
	returned := map[[2]uint64]bool{} // class, seq
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var class, seq uint64
		if _, err := fmt.Sscanf(sc.Text(), "%d %d", &class, &seq); err != nil {
			continue // a line cut short by the kill
		}
		returned[[2]uint64{class, seq}] = true
		if len(returned) == killAfter {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL, mid-loop
				t.Fatal(err)
			}
		}
	}
	_ = cmd.Wait()
	if len(returned) < killAfter {
		t.Fatalf("the helper printed %d seqs before it ended, want at least %d", len(returned), killAfter)
	}

	var logs logBuffer
	s, _ := openFile(t, path, &logs)
	if s.Recovered() != "" {
		t.Fatalf("after the kill the file needed recovery: %s", s.Recovered())
	}
	present := map[[2]uint64]bool{}
	items := mustNext(t, s, 1_000_000)
	var maxSeq uint64
	for _, it := range items {
		present[[2]uint64{uint64(it.Class), it.Seq}] = true
		maxSeq = max(maxSeq, it.Seq)
	}
	for k := range returned {
		if !present[k] {
			t.Errorf("%v seq %d: Put returned before the kill but the item is gone", Class(k[0]), k[1])
		}
	}
	t.Logf("%d puts returned before the kill; %d items in the store after it", len(returned), len(items))
	if st := s.Stats(); st.Corrupt != 0 {
		t.Errorf("Corrupt = %d after the kill, want 0", st.Corrupt)
	}
	if next := mustPut(t, s, telemetry("after"))[0]; next.Seq <= maxSeq {
		t.Errorf("Seq after restart = %d, want above %d, the highest kept", next.Seq, maxSeq)
	}
}
