package htmlreport

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// count formats n with thousands separators: 12,000.
func count(n int64) string {
	digits := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, digits = "-", digits[1:]
	}
	var b strings.Builder
	for i, r := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return sign + b.String()
}

// decimal formats f with at most two decimals and no trailing zeros.
func decimal(f float64) string {
	s := strconv.FormatFloat(f, 'f', 2, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

func seconds(f float64) string { return decimal(f) + " s" }

func millis(f float64) string { return decimal(f) + " ms" }

// byteSize formats n in IEC units: 96 MiB, 1.5 KiB, 512 B.
func byteSize(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	value, exp := float64(n)/unit, 0
	for value >= unit && exp < 5 {
		value /= unit
		exp++
	}
	return fmt.Sprintf("%s %ciB", decimal(value), "KMGTPE"[exp])
}

// timestamp formats t in UTC to the millisecond, or "unknown" if zero.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000 UTC")
}

// offset formats d as a signed duration from the start, to the millisecond.
func offset(d time.Duration) string {
	d = d.Round(time.Millisecond)
	if d < 0 {
		return d.String()
	}
	return "+" + d.String()
}
