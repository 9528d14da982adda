package query

import (
	"fmt"
	"testing"
)

const benchQuery = "SELECT * FROM devices WHERE tags.location.region = 'US' AND properties.reported.cases > 1 OR deviceId IN ['dev-7', 'dev-9']"

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := Parse(benchQuery); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRun1000 evaluates a WHERE over 1,000 twin documents.
func BenchmarkRun1000(b *testing.B) {
	base := docs(b)
	all := make([]map[string]any, 0, 1000)
	for i := range 1000 {
		d := map[string]any{}
		for k, v := range base[i%len(base)] {
			d[k] = v
		}
		d["deviceId"] = fmt.Sprintf("dev-%d", i)
		all = append(all, d)
	}
	q, err := Parse(benchQuery)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		q.Run(all)
	}
}
