// Package stats holds the summary statistics that the benchmark programs
// report.
package stats

import "slices"

// Median returns the median of v (the mean of the two middle values when
// their number is even), or 0 for no values. It does not change v.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
