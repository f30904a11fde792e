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
	"encoding/xml"
	"fmt"
	"io"
	"os"
)

// testSuites is the root of a JUnit report as ginkgo writes it.
type testSuites struct {
	Suites []testSuite `xml:"testsuite"`
}

// testSuite is one ginkgo run: e2e.test writes a single one.
type testSuite struct {
	Name      string     `xml:"name,attr"`
	Timestamp string     `xml:"timestamp,attr"`
	Time      float64    `xml:"time,attr"`
	Cases     []testCase `xml:"testcase"`
}

// testCase is one spec or suite-level node ("[It] ...", "[BeforeSuite]").
type testCase struct {
	Name    string   `xml:"name,attr"`
	Status  string   `xml:"status,attr"`
	Time    float64  `xml:"time,attr"`
	Skipped *message `xml:"skipped"`
	Failure *message `xml:"failure"`
	Error   *message `xml:"error"`
}

// message is a skip, failure or error: its attribute and its text.
type message struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// readReport parses the JUnit report in file.
func readReport(file string) (*testSuites, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("failed to open the JUnit report: %w", err)
	}
	defer func() { _ = f.Close() }()
	return parseReport(f)
}

// parseReport parses a JUnit report.
func parseReport(r io.Reader) (*testSuites, error) {
	var out testSuites
	if err := xml.NewDecoder(r).Decode(&out); err != nil {
		return nil, fmt.Errorf("failed to parse the JUnit report: %w", err)
	}
	if len(out.Suites) == 0 {
		return nil, fmt.Errorf("the JUnit report has no test suite")
	}
	return &out, nil
}
