package features

import (
	"bytes"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"

	"github.com/cucumber/godog"
	"go.yaml.in/yaml/v3"
)

// RequirementsFile is the requirements file's name inside Files.
const RequirementsFile = "requirements.yaml"

// reqTag matches a requirement tag as written in a feature file.
var reqTag = regexp.MustCompile(`^@(REQ-[A-Z]+-[0-9]{3})$`)

// Requirement is one verified requirement.
type Requirement struct {
	ID    string `yaml:"id"`
	Title string `yaml:"title"`
	Text  string `yaml:"text"`
}

// Requirements reads the requirements file from fsys (Files, normally),
// rejecting unknown fields, malformed or duplicate ids and empty texts.
func Requirements(fsys fs.FS) ([]Requirement, error) {
	b, err := fs.ReadFile(fsys, RequirementsFile)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Requirements []Requirement `yaml:"requirements"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", RequirementsFile, err)
	}
	seen := map[string]bool{}
	for _, r := range doc.Requirements {
		if !reqTag.MatchString("@" + r.ID) {
			return nil, fmt.Errorf("%s: id %q is not of the form REQ-AREA-NNN", RequirementsFile, r.ID)
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("%s: %s defined twice", RequirementsFile, r.ID)
		}
		if strings.TrimSpace(r.Title) == "" || strings.TrimSpace(r.Text) == "" {
			return nil, fmt.Errorf("%s: %s needs a title and a text", RequirementsFile, r.ID)
		}
		seen[r.ID] = true
	}
	return doc.Requirements, nil
}

// Coverage maps each requirement id tagged in the feature files of fsys to
// the scenarios (feature file: scenario name) that verify it. A scenario
// outline counts once per example row.
func Coverage(fsys fs.FS) (map[string][]string, error) {
	suite := godog.TestSuite{Options: &godog.Options{FS: fsys, Paths: []string{"."}}}
	feats, err := suite.RetrieveFeatures()
	if err != nil {
		return nil, fmt.Errorf("parse feature files: %w", err)
	}
	cov := map[string][]string{}
	for _, f := range feats {
		for _, p := range f.Pickles {
			for _, t := range p.Tags {
				if m := reqTag.FindStringSubmatch(t.Name); m != nil {
					cov[m[1]] = append(cov[m[1]], p.Uri+": "+p.Name)
				} else if strings.HasPrefix(t.Name, "@REQ") {
					return nil, fmt.Errorf("%s: scenario %q: tag %s is not of the form @REQ-AREA-NNN", p.Uri, p.Name, t.Name)
				}
			}
		}
	}
	for _, s := range cov {
		sort.Strings(s)
	}
	return cov, nil
}
