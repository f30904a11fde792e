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

package pool

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/plinth-dev/plinth/internal/atomicfile"
)

// legacyTmpSuffix ends the temporary files that versions before atomicfile
// wrote next to a data or metadata file; rebuild still sweeps them, so a
// crash before an upgrade leaves nothing behind after it.
const legacyTmpSuffix = ".tmp"

// filePerm is the mode of the pool's data and metadata files.
const filePerm = 0o600

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("failed to encode %s: %w", path, err)
	}
	return atomicfile.Write(path, append(data, '\n'), filePerm)
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("failed to decode %s: %w", path, err)
	}
	return nil
}
