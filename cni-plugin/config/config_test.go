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

package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/cni-plugin/config"
)

func TestParseAppliesDefaults(t *testing.T) {
	conf, err := config.Parse([]byte(`{"cniVersion":"1.1.0","name":"plinth","type":"plinth-cni","ranges":["10.244.1.0/24","fd00:10:244:1::/64"]}`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if conf.MTU != config.DefaultMTU || conf.DataDir != config.DefaultDataDir || conf.AgentStateFile != config.DefaultAgentStateFile {
		t.Errorf("defaults not applied: %+v", conf)
	}
	if len(conf.ParsedRanges) != 2 || conf.ParsedRanges[0].String() != "10.244.1.0/24" {
		t.Errorf("ranges = %v", conf.ParsedRanges)
	}
}

func TestParseRejectsInvalidFieldsByName(t *testing.T) {
	tests := []struct {
		name  string
		conf  string
		field string
	}{
		{"missing ranges", `{"name":"n"}`, "ranges"},
		{"range not a CIDR", `{"name":"n","ranges":["10.0.0.1"]}`, "ranges[0]"},
		{"range with host bits", `{"name":"n","ranges":["10.0.0.1/24"]}`, "ranges[0]"},
		{"two ranges of one family", `{"name":"n","ranges":["10.0.0.0/24","10.1.0.0/24"]}`, "ranges[1]"},
		{"range too small", `{"name":"n","ranges":["10.0.0.0/31"]}`, "ranges[0]"},
		{"mapped IPv4 range", `{"name":"n","ranges":["::ffff:10.0.0.0/120"]}`, "ranges[0]"},
		{"MTU too small", `{"name":"n","ranges":["10.0.0.0/24"],"mtu":500}`, "mtu"},
		{"relative data dir", `{"name":"n","ranges":["10.0.0.0/24"],"dataDir":"var/lib"}`, "dataDir"},
		{"data dir with dot-dot", `{"name":"n","ranges":["10.0.0.0/24"],"dataDir":"/var/../etc"}`, "dataDir"},
		{"relative agent state file", `{"name":"n","ranges":["10.0.0.0/24"],"agentStateFile":"x"}`, "agentStateFile"},
		{"name escaping the data dir", `{"name":"../x","ranges":["10.0.0.0/24"]}`, "name"},
		{"empty name", `{"ranges":["10.0.0.0/24"]}`, "name"},
		{"prevResult of wrong shape", `{"cniVersion":"1.0.0","name":"n","ranges":["10.0.0.0/24"],"prevResult":{"ips":"x"}}`, "prevResult"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.conf))
			var fe *config.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse error = %v, want a FieldError", err)
			}
			if fe.Field != tt.field || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q names field %q, want %q", err, fe.Field, tt.field)
			}
		})
	}
}

func TestParseRejectsMalformedJSON(t *testing.T) {
	_, err := config.Parse([]byte(`{"name":`))
	var fe *config.FieldError
	if err == nil || errors.As(err, &fe) {
		t.Fatalf("Parse error = %v, want a decoding error", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"cniVersion":"1.1.0","name":"plinth","ranges":["10.244.1.0/24","fd00::/64"],"mtu":1450}`))
	f.Add([]byte(`{"name":"n","ranges":["10.0.0.0/8"],"dataDir":"/a/b","prevResult":{"cniVersion":"1.0.0","ips":[]}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		conf, err := config.Parse(data)
		if err != nil {
			return
		}
		if len(conf.ParsedRanges) == 0 || len(conf.ParsedRanges) > 2 {
			t.Fatalf("accepted %d ranges", len(conf.ParsedRanges))
		}
		if conf.MTU < 1280 || conf.DataDir == "" || conf.AgentStateFile == "" {
			t.Fatalf("accepted invalid config %+v", conf)
		}
		for _, r := range conf.ParsedRanges {
			if r.Masked() != r {
				t.Fatalf("accepted range with host bits %s", r)
			}
		}
	})
}
