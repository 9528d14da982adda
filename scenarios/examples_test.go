package scenarios

import (
	"path/filepath"
	"testing"
)

// TestExampleScenariosLoad: every scenario under examples/ parses and
// validates, so a file a README points people at cannot rot. (Running
// them is `cloudpillar sim FILE`; they take minutes.)
func TestExampleScenariosLoad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example scenarios: %v", err)
	}
	for _, f := range files {
		sc, err := Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if sc.Name+".yaml" != filepath.Base(f) {
			t.Errorf("%s: name %q, want the file's name", f, sc.Name)
		}
	}
}
