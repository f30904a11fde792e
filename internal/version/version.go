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

// Package version holds the version of Plinth's binaries, one variable
// that every binary reports and that builds stamp with
//
//	-ldflags "-X github.com/plinth-dev/plinth/internal/version.Version=v1.2.3"
//
// (the Containerfile and hack/images do; a plain `go build` reports "dev").
package version

import (
	"fmt"
	"runtime"
)

// Version is the release the binary was built from.
var Version = "dev"

// String is the one-line answer of `<binary> version`.
func String(binary string) string {
	return fmt.Sprintf("%s %s (%s, %s/%s)", binary, Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
