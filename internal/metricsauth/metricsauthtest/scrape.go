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

package metricsauthtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// Endpoint is a metrics URL and a string its authorized answer contains.
type Endpoint struct {
	URL, Want string
}

// AssertScrapeAuth creates, in namespace (which it creates), a ServiceAccount
// bound to a ClusterRole that may get paths, and one bound to nothing; then
// it checks every endpoint: 401 without a token, 403 with the unbound
// account's, 200 with the reader's. It polls until the endpoint answers.
func AssertScrapeAuth(t testing.TB, cs kubernetes.Interface, namespace string, paths []string, endpoints ...Endpoint) {
	t.Helper()
	ctx := context.Background()
	reader, nobody := grantReader(ctx, t, cs, namespace, paths)
	for _, e := range endpoints {
		for _, c := range []struct {
			who   string
			token string
			code  int
		}{{"no token", "", http.StatusUnauthorized}, {"an unauthorized token", nobody, http.StatusForbidden}, {"a metrics-reader token", reader, http.StatusOK}} {
			var last string
			err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
				code, body, err := get(ctx, e.URL, c.token)
				if err != nil {
					last = err.Error()
					return false, nil
				}
				last = fmt.Sprintf("%d %.200s", code, body)
				return code == c.code && (code != http.StatusOK || strings.Contains(body, e.Want)), nil
			})
			if err != nil {
				t.Errorf("GET %s with %s: want %d; last answer: %s", e.URL, c.who, c.code, last)
			}
		}
	}
}

// grantReader returns the tokens of a reader and of an account with no
// permission.
func grantReader(ctx context.Context, t testing.TB, cs kubernetes.Interface, namespace string, paths []string) (reader, nobody string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{})
	must(err)
	role := namespace + "-metrics-reader"
	_, err = cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: role},
		Rules:      []rbacv1.PolicyRule{{NonResourceURLs: paths, Verbs: []string{"get"}}},
	}, metav1.CreateOptions{})
	must(err)
	_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "scraper", Namespace: namespace}},
	}, metav1.CreateOptions{})
	must(err)
	return token(ctx, t, cs, namespace, "scraper"), token(ctx, t, cs, namespace, "nobody")
}

func token(ctx context.Context, t testing.TB, cs kubernetes.Interface, namespace, name string) string {
	t.Helper()
	sas := cs.CoreV1().ServiceAccounts(namespace)
	if _, err := sas.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := sas.CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("failed to get a token of %s: %v", name, err)
	}
	return tr.Status.Token
}

// get fetches url with the bearer token (none when empty). The endpoint's
// certificate is self-signed, so it is not verified.
func get(ctx context.Context, url, token string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", fmt.Errorf("failed to build request: %w", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed test endpoint
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("failed to get %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", fmt.Errorf("failed to read %s: %w", url, err)
	}
	return resp.StatusCode, string(body), nil
}
