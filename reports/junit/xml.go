package junit

import "encoding/xml"

// The XML shapes of the JUnit dialect; counts are derived from the cases.

type xmlSuites struct {
	XMLName  xml.Name   `xml:"testsuites"`
	Tests    int        `xml:"tests,attr"`
	Failures int        `xml:"failures,attr"`
	Errors   int        `xml:"errors,attr"`
	Skipped  int        `xml:"skipped,attr"`
	Time     string     `xml:"time,attr"`
	Suites   []xmlSuite `xml:"testsuite"`
}

type xmlSuite struct {
	Name       string         `xml:"name,attr"`
	Tests      int            `xml:"tests,attr"`
	Failures   int            `xml:"failures,attr"`
	Errors     int            `xml:"errors,attr"`
	Skipped    int            `xml:"skipped,attr"`
	Time       string         `xml:"time,attr"`
	Properties *xmlProperties `xml:"properties"`
	Cases      []xmlCase      `xml:"testcase"`
}

type xmlProperties struct {
	Properties []xmlProperty `xml:"property"`
}

type xmlProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type xmlCase struct {
	Name      string      `xml:"name,attr"`
	Classname string      `xml:"classname,attr"`
	Time      string      `xml:"time,attr"`
	Failure   *xmlMessage `xml:"failure"`
	Skipped   *xmlMessage `xml:"skipped"`
}

// xmlMessage carries the first line as the message attribute and the whole
// text as character data.
type xmlMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

func document(suites []Suite) xmlSuites {
	doc := xmlSuites{Suites: make([]xmlSuite, 0, len(suites))}
	total := 0.0
	for _, s := range suites {
		xs, t := suiteXML(s)
		doc.Suites = append(doc.Suites, xs)
		doc.Tests += xs.Tests
		doc.Failures += xs.Failures
		doc.Skipped += xs.Skipped
		total += t
	}
	doc.Time = seconds(total)
	return doc
}

// suiteXML returns the XML shape of s and its duration in seconds.
func suiteXML(s Suite) (xmlSuite, float64) {
	xs := xmlSuite{Name: s.Name, Tests: len(s.Cases), Cases: make([]xmlCase, 0, len(s.Cases))}
	sum := 0.0
	for _, c := range s.Cases {
		xc := caseXML(c, s.Name)
		if xc.Failure != nil {
			xs.Failures++
		} else if xc.Skipped != nil {
			xs.Skipped++
		}
		xs.Cases = append(xs.Cases, xc)
		sum += max(c.Time, 0)
	}
	if s.Time != 0 {
		sum = s.Time
	}
	xs.Time = seconds(sum)
	if len(s.Properties) > 0 {
		xs.Properties = &xmlProperties{}
		for _, p := range s.Properties {
			xs.Properties.Properties = append(xs.Properties.Properties, xmlProperty(p))
		}
	}
	return xs, max(sum, 0)
}

func caseXML(c Case, suiteName string) xmlCase {
	xc := xmlCase{Name: c.Name, Classname: c.Classname, Time: seconds(c.Time)}
	if xc.Classname == "" {
		xc.Classname = suiteName
	}
	switch {
	case c.Failure != "":
		xc.Failure = &xmlMessage{Message: firstLine(c.Failure), Text: c.Failure}
	case c.Skipped != "":
		xc.Skipped = &xmlMessage{Message: firstLine(c.Skipped), Text: c.Skipped}
	}
	return xc
}
