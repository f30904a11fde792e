package hostrun

import "testing"

func TestRewritePathsMapsMountPathsAtValueStarts(t *testing.T) {
	mounts := []mount{{"/csi", "/h/pod/csi"}, {"/var/lib/kubelet", "/h/n1/var/lib/kubelet"}, {"/var/lib/kubelet/plugins", "/h/n1/plugins"}}
	sortMounts(mounts)
	for arg, want := range map[string]string{
		"/csi/csi.sock":                             "/h/pod/csi/csi.sock",
		"/csi":                                      "/h/pod/csi",
		"--endpoint=unix:///csi/csi.sock":           "--endpoint=unix:///h/pod/csi/csi.sock",
		"unix:///csi/csi.sock":                      "unix:///h/pod/csi/csi.sock",
		"--dir=/var/lib/kubelet/pods":               "--dir=/h/n1/var/lib/kubelet/pods",
		"--plugins=/var/lib/kubelet/plugins/x.sock": "--plugins=/h/n1/plugins/x.sock",
		"/csiplugin":                                "/csiplugin",
		"--other=/etc/csi":                          "--other=/etc/csi",
		"--v=5":                                     "--v=5",
	} {
		if got := rewritePaths(arg, mounts); got != want {
			t.Errorf("rewritePaths(%q) = %q, want %q", arg, got, want)
		}
	}
}

func TestRewritePortMapsDeclaredPortsToLoopback(t *testing.T) {
	ports := map[int32]int32{9808: 40001, 8080: 40002}
	for arg, want := range map[string]string{
		":9808":                       "127.0.0.1:40001",
		"--metrics-address=:9808":     "--metrics-address=127.0.0.1:40001",
		"--addr=0.0.0.0:8080":         "--addr=127.0.0.1:40002",
		"--addr=[::]:8080":            "--addr=127.0.0.1:40002",
		"--url=http://localhost:8080": "--url=http://127.0.0.1:40002",
		"--addr=:9999":                "--addr=:9999",
		"--port=9808":                 "--port=9808",
		"unix:///csi/csi.sock":        "unix:///csi/csi.sock",
	} {
		if got := rewritePort(arg, ports); got != want {
			t.Errorf("rewritePort(%q) = %q, want %q", arg, got, want)
		}
	}
}

func TestExpandFollowsKubernetesVariableReferences(t *testing.T) {
	vars := lookupIn(map[string]string{"NODE_NAME": "node-1", "EMPTY": ""})
	for in, want := range map[string]string{
		"--node=$(NODE_NAME)":     "--node=node-1",
		"$(NODE_NAME)-$(EMPTY)x":  "node-1-x",
		"$(UNDEFINED)":            "$(UNDEFINED)",
		"$$(NODE_NAME)":           "$(NODE_NAME)",
		"cost: $5":                "cost: $5",
		"unterminated $(NODE_NAM": "unterminated $(NODE_NAM",
		"trailing $":              "trailing $",
	} {
		if got := expand(in, vars); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestImageBinaryIsTheLastRepositoryElement(t *testing.T) {
	for image, want := range map[string]string{
		"ghcr.io/plinth-dev/plinth-node:v1":       "plinth-node",
		"localhost:5000/plinth-controller":        "plinth-controller",
		"example.test/plinth/fake@sha256:0123abc": "fake",
		"plinth-cni": "plinth-cni",
	} {
		if got := imageBinary(image); got != want {
			t.Errorf("imageBinary(%q) = %q, want %q", image, got, want)
		}
	}
}
