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
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", "", "where the Markdown summary goes (default: standard output)")
	notes := flag.String("notes", "", "a Markdown file appended to the summary")
	var p page
	flag.StringVar(&p.Set, "set", "full", "the sets of suites that ran (hack/test-upstream.sh's arguments)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: conformance [flags] REPORT_DIR...\n\n"+
			"Each REPORT_DIR holds the junit_01.xml of one run of e2e.test and the command of that run in a file named command.")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		return fmt.Errorf("no report directory")
	}
	var reports []*testSuites
	var broken []string
	for _, dir := range flag.Args() {
		r, cmd, err := readRun(dir)
		if cmd != "" {
			p.Commands = append(p.Commands, cmd)
		}
		if err != nil {
			// A run that wrote no report (its cluster never came up,
			// or e2e.test died) is a failure of the summary, not of
			// the tool.
			broken = append(broken, fmt.Sprintf("%s: %v", dir, err))
			continue
		}
		reports = append(reports, r)
	}
	if *notes != "" {
		text, err := os.ReadFile(*notes)
		if err != nil {
			return fmt.Errorf("failed to read the notes: %w", err)
		}
		p.Notes = string(text)
	}
	s := summarize(reports...)
	s.Broken = broken
	var buf bytes.Buffer
	if err := writeMarkdown(&buf, s, p); err != nil {
		return err
	}
	var err error
	if *out == "" {
		_, err = os.Stdout.Write(buf.Bytes())
	} else {
		err = os.WriteFile(*out, buf.Bytes(), 0o644)
	}
	if err != nil {
		return fmt.Errorf("failed to write the summary: %w", err)
	}
	fmt.Printf("conformance: %d passed, %d failed, %d skipped\n", s.Total.Passed, s.Total.Failed, s.Total.Skipped)
	// The failures again, last, where the tail of a CI log shows them.
	for _, f := range s.Failures {
		fmt.Printf("conformance: FAILED %s: %s\n", f.name, f.reason)
	}
	for _, b := range s.Broken {
		fmt.Printf("conformance: NO REPORT %s\n", b)
	}
	if s.Total.Failed > 0 || len(s.Broken) > 0 {
		return fmt.Errorf("%d specs failed, %d runs left no report", s.Total.Failed, len(s.Broken))
	}
	return nil
}

// readRun reads the command and the report of one run from dir.
func readRun(dir string) (*testSuites, string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "command"))
	if err != nil {
		return nil, "", fmt.Errorf("failed to read the command of %s: %w", dir, err)
	}
	cmd := strings.TrimSpace(string(b))
	r, err := readReport(filepath.Join(dir, "junit_01.xml"))
	return r, cmd, err
}
