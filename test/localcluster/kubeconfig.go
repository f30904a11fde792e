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

package localcluster

import (
	"fmt"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// userKubeconfig issues a client certificate for user (with groups) and
// writes a kubeconfig that reaches the API server on the control plane's
// loopback, for the components that run there.
func (c *Cluster) userKubeconfig(name, user string, groups ...string) (string, error) {
	return c.kubeconfigFor(name, "https://127.0.0.1:"+itoa(apiServerPort), user, groups...)
}

// kubeconfigFor issues a client certificate and writes a kubeconfig for
// server into Dir/kubeconfigs/<name>.kubeconfig.
func (c *Cluster) kubeconfigFor(name, server, user string, groups ...string) (string, error) {
	cert, key, err := c.pki.issue(identity{name: name, cn: user, orgs: groups})
	if err != nil {
		return "", err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: c.pki.CAData()}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificate: cert, ClientKey: key}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: user}
	cfg.CurrentContext = "local"
	path := filepath.Join(c.Dir, "kubeconfigs", name+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return "", fmt.Errorf("failed to write kubeconfig %s: %w", path, err)
	}
	return path, nil
}
