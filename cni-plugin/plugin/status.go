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

package plugin

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/plinth-dev/plinth/cni-plugin/config"
)

// Status reports whether the plugin can serve ADD: the node agent must have
// written its state file, and the IPAM store must be usable. Until then it
// returns code 50 (plugin not available) so the runtime holds pods back.
func (p *Plugin) Status(args *skel.CmdArgs) error {
	conf, err := loadConf(args.StdinData)
	if err != nil {
		return err
	}
	if err := agentReady(conf.AgentStateFile); err != nil {
		return types.NewError(types.ErrPluginNotAvailable, "node agent has not made this node ready", err.Error())
	}
	if _, err := openStore(conf); err != nil {
		return types.NewError(types.ErrPluginNotAvailable, "IPAM store unusable", err.Error())
	}
	return nil
}

func agentReady(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("failed to read agent state: %w", err)
	}
	var state config.AgentState
	if err := json.Unmarshal(data, &state); err != nil {
		return fmt.Errorf("failed to decode agent state %s: %w", path, err)
	}
	return nil
}
