/*
Copyright 2026 The Plinth Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package main

import (
	"maps"
	"slices"
	"strings"
)

// outcome is what became of one spec.
type outcome int

const (
	notSelected outcome = iota // left out by the run's focus or skip
	passed
	failed
	skipped // skipped at run time, with a reason
)

// result is one spec's outcome, grouped by suite.
type result struct {
	suite   string
	name    string
	outcome outcome
	reason  string // why it was skipped, or the first line of its failure
	seconds float64
}

// counts are the outcomes of one suite's selected specs.
type counts struct {
	Passed, Failed, Skipped int
	Seconds                 float64
}

// summary is a report reduced to counts per suite, failures and skip
// reasons.
type summary struct {
	Timestamp   string
	Seconds     float64 // the runs' wall-clock time
	Suites      map[string]*counts
	Total       counts
	NotSelected int
	Failures    []result
	// Skips maps each skip reason to the suites (and how many of their
	// specs) it skipped.
	Skips map[string]map[string]int
	// Broken lists the runs that left no report, and why.
	Broken []string
}

// leafPrefix is how ginkgo's JUnit report starts the name of a spec.
const leafPrefix = "[It] "

// classify turns one test case into a result; ok is false for a suite-level
// node (BeforeSuite, ReportAfterSuite, ...) that did not fail.
func classify(c testCase) (r result, ok bool) {
	name, isSpec := strings.CutPrefix(c.Name, leafPrefix)
	r = result{suite: suiteOf(name), name: name, seconds: c.Time}
	if !isSpec {
		r.suite = "suite setup and reports"
	}
	switch c.Status {
	case "passed":
		r.outcome = passed
	case "skipped":
		reason := ""
		if c.Skipped != nil {
			reason = c.Skipped.Message
		}
		if reason, ok = strings.CutPrefix(reason, "skipped - "); ok {
			r.outcome, r.reason = skipped, strings.TrimSpace(reason)
		}
	case "pending":
		r.outcome = notSelected
	default: // failed, timedout, interrupted, aborted, panicked
		r.outcome, r.reason = failed, failureLine(c)
	}
	return r, isSpec || r.outcome == failed
}

// failureLine is the first non-empty line of a failure, prefixed with its
// kind.
func failureLine(c testCase) string {
	for _, m := range []*message{c.Failure, c.Error} {
		if m == nil {
			continue
		}
		for _, text := range []string{m.Message, m.Text} {
			for line := range strings.Lines(text) {
				if line = strings.TrimSpace(line); line != "" {
					return c.Status + ": " + line
				}
			}
		}
	}
	return c.Status
}

// storageMarker is in the name of every External Storage spec; the suite is
// the word after its test pattern.
const storageMarker = "External Storage [Driver: "

// suiteOf names the suite of a spec: "External Storage: <suite>" for the
// storage suites (provisioning, volumes, ...), else the spec's describe
// text, the part of its name before " should ".
func suiteOf(name string) string {
	if strings.Contains(name, storageMarker) {
		if _, rest, ok := strings.Cut(name, "[Testpattern: "); ok {
			if _, rest, ok = cutPattern(rest); ok {
				if word := firstWord(rest); word != "" {
					return "External Storage: " + word
				}
			}
		}
		return "External Storage"
	}
	if describe, _, ok := strings.Cut(name, " should "); ok {
		return describe
	}
	return name
}

// firstWord is the first word of s that is not a bracketed tag such as
// "[Feature:Windows]".
func firstWord(s string) string {
	for _, w := range strings.Fields(s) {
		if !strings.HasPrefix(w, "[") {
			return w
		}
	}
	return ""
}

// cutPattern cuts s after the "]" that closes the test pattern (whose name
// has parentheses and may have brackets).
func cutPattern(s string) (pattern, rest string, ok bool) {
	depth := 1
	for i, r := range s {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return s[:i], s[i+1:], true
			}
		}
	}
	return "", "", false
}

// summarize reduces reports to one summary. A spec in several reports
// counts once, with its outcome in the last report that ran it (a rerun
// supersedes the run before).
func summarize(reports ...*testSuites) *summary {
	s := &summary{Suites: map[string]*counts{}, Skips: map[string]map[string]int{}}
	latest := map[string]result{}
	var order []string
	for _, report := range reports {
		for _, suite := range report.Suites {
			if s.Timestamp == "" || suite.Timestamp < s.Timestamp {
				s.Timestamp = suite.Timestamp
			}
			s.Seconds += suite.Time
			for _, c := range suite.Cases {
				r, ok := classify(c)
				if !ok {
					continue
				}
				key := r.suite + "\x00" + r.name
				prev, seen := latest[key]
				if !seen {
					order = append(order, key)
				}
				if !seen || r.outcome != notSelected || prev.outcome == notSelected {
					latest[key] = r
				}
			}
		}
	}
	for _, key := range order {
		s.add(latest[key])
	}
	slices.SortFunc(s.Failures, func(a, b result) int {
		return strings.Compare(a.suite+"\x00"+a.name, b.suite+"\x00"+b.name)
	})
	return s
}

// add counts one result.
func (s *summary) add(r result) {
	if r.outcome == notSelected {
		s.NotSelected++
		return
	}
	c := s.Suites[r.suite]
	if c == nil {
		c = &counts{}
		s.Suites[r.suite] = c
	}
	c.Seconds += r.seconds
	s.Total.Seconds += r.seconds
	switch r.outcome {
	case passed:
		c.Passed++
		s.Total.Passed++
	case failed:
		c.Failed++
		s.Total.Failed++
		s.Failures = append(s.Failures, r)
	case skipped:
		c.Skipped++
		s.Total.Skipped++
		if s.Skips[r.reason] == nil {
			s.Skips[r.reason] = map[string]int{}
		}
		s.Skips[r.reason][r.suite]++
	}
}

// suiteNames lists the suites in order.
func (s *summary) suiteNames() []string {
	return slices.Sorted(maps.Keys(s.Suites))
}

// skipReasons lists the skip reasons, the most frequent first.
func (s *summary) skipReasons() []string {
	reasons := slices.Sorted(maps.Keys(s.Skips))
	slices.SortStableFunc(reasons, func(a, b string) int { return total(s.Skips[b]) - total(s.Skips[a]) })
	return reasons
}

// total adds up the counts of m.
func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
