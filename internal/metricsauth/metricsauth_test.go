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

package metricsauth

import "testing"

func TestBindAddress(t *testing.T) {
	for in, want := range map[string]string{
		":9810":               ":9810",
		"0":                   "0",
		"10.0.0.5:9810":       "10.0.0.5:9810",
		"fd00::5:9810":        "[fd00::5]:9810",
		"[fd00::5]:9810":      "[fd00::5]:9810",
		"127.0.0.1:9808":      "127.0.0.1:9808",
		"node.example.com:80": "node.example.com:80",
	} {
		if got := BindAddress(in); got != want {
			t.Errorf("BindAddress(%q) = %q, want %q", in, got, want)
		}
	}
}
