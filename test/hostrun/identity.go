package hostrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

// tokenLifetime is what the runner asks for; it refreshes the token after
// tokenRefreshShare of whatever lifetime the API server grants.
const (
	tokenLifetime     = time.Hour
	tokenRefreshShare = 0.8
)

// identity is a pod's service account credentials on the host: a token
// file, rewritten before the token expires, and a kubeconfig naming it.
// client-go re-reads a kubeconfig's tokenFile (at most a minute after it
// changes), so running processes pick up refreshed tokens.
type identity struct {
	tokenPath  string
	kubeconfig string
}

func newIdentity(podDir string) identity {
	dir := filepath.Join(podDir, "identity")
	return identity{tokenPath: filepath.Join(dir, "token"), kubeconfig: filepath.Join(dir, "kubeconfig")}
}

// requestToken asks for a token of the pod's service account, bound to the
// pod so that it dies with it, and writes it; it returns when to refresh.
func (w *podWorker) requestToken(ctx context.Context) (time.Time, error) {
	pod := w.latest()
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To(int64(tokenLifetime.Seconds())),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	began := time.Now()
	resp, err := w.r.clientset.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, serviceAccount(pod), req, metav1.CreateOptions{})
	if err != nil {
		return time.Time{}, fmt.Errorf("failed to request a token for service account %s: %w", serviceAccount(pod), err)
	}
	if err := writeFileAtomic(w.identity.tokenPath, []byte(resp.Status.Token)); err != nil {
		return time.Time{}, err
	}
	lifetime := resp.Status.ExpirationTimestamp.Sub(began)
	return began.Add(time.Duration(float64(lifetime) * tokenRefreshShare)), nil
}

func serviceAccount(pod *corev1.Pod) string {
	if pod.Spec.ServiceAccountName == "" {
		return "default"
	}
	return pod.Spec.ServiceAccountName
}

// refreshToken keeps the token fresh until ctx ends.
func (w *podWorker) refreshToken(ctx context.Context, next time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		var err error
		if next, err = w.requestToken(ctx); err != nil {
			w.log.Error(err, "Token refresh failed, retrying in 10s")
			next = time.Now().Add(10 * time.Second)
		}
	}
}

// writeKubeconfig writes a kubeconfig for the API server of admin that
// authenticates with the pod's token file only.
func (id identity) writeKubeconfig(admin *rest.Config, namespace string) error {
	ca := admin.CAData
	if len(ca) == 0 && admin.CAFile != "" && !admin.Insecure {
		var err error
		if ca, err = os.ReadFile(admin.CAFile); err != nil {
			return fmt.Errorf("failed to read the API server CA: %w", err)
		}
	}
	server := admin.Host
	if !strings.Contains(server, "://") {
		server = "https://" + server
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cluster"] = &clientcmdapi.Cluster{
		Server: server, CertificateAuthorityData: ca, TLSServerName: admin.ServerName, InsecureSkipTLSVerify: admin.Insecure,
	}
	cfg.AuthInfos["pod"] = &clientcmdapi.AuthInfo{TokenFile: id.tokenPath}
	cfg.Contexts["pod"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: "pod", Namespace: namespace}
	cfg.CurrentContext = "pod"
	if err := os.MkdirAll(filepath.Dir(id.kubeconfig), 0o700); err != nil {
		return fmt.Errorf("failed to create the identity directory: %w", err)
	}
	if err := clientcmd.WriteToFile(*cfg, id.kubeconfig); err != nil {
		return fmt.Errorf("failed to write the pod's kubeconfig: %w", err)
	}
	return nil
}

// writeFileAtomic replaces path, so that a reader never sees half a token.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("failed to create %s: %w", filepath.Dir(path), err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("failed to write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("failed to replace %s: %w", path, err)
	}
	return nil
}
