package features

import (
	"sort"
	"testing"
)

// TestRequirementsTraceable checks both directions of the traceability
// between requirements.yaml and the feature files: every @REQ tag names a
// defined requirement, and every requirement is verified by a scenario.
func TestRequirementsTraceable(t *testing.T) {
	reqs, err := Requirements(Files)
	if err != nil {
		t.Fatal(err)
	}
	cov, err := Coverage(Files)
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	for _, r := range reqs {
		defined[r.ID] = true
		if len(cov[r.ID]) == 0 {
			t.Errorf("%s (%s) is verified by no scenario: tag one with @%s", r.ID, r.Title, r.ID)
		}
	}
	var tags []string
	for id := range cov {
		tags = append(tags, id)
	}
	sort.Strings(tags)
	for _, id := range tags {
		if !defined[id] {
			t.Errorf("@%s is used by %q but not defined in %s", id, cov[id], RequirementsFile)
		}
	}
}

// TestRequirementsMinimum pins the requirements this suite was written to
// verify, so none is dropped from requirements.yaml by accident.
func TestRequirementsMinimum(t *testing.T) {
	reqs, err := Requirements(Files)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, r := range reqs {
		have[r.ID] = true
	}
	for _, id := range []string{"REQ-TWIN-001", "REQ-TWIN-002", "REQ-TWIN-003", "REQ-SEC-001"} {
		if !have[id] {
			t.Errorf("%s is missing from %s", id, RequirementsFile)
		}
	}
}
