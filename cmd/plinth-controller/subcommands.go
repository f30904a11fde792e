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
	"context"
	"flag"
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/cmd/plinth-controller/app"
	"github.com/plinth-dev/plinth/cmd/plinth-controller/nslabel"
	"github.com/plinth-dev/plinth/cmd/plinth-controller/selftest"
	"github.com/plinth-dev/plinth/cmd/plinth-controller/uninstall"
	"github.com/plinth-dev/plinth/internal/version"
)

// subcommands are the helper commands; each returns the exit code.
var subcommands = map[string]func(args []string) int{
	"selftest":        runSelfTest,
	"label-namespace": runLabelNamespace,
	"uninstall":       runUninstall,
	"version":         runVersion,
	"pause":           runPause,
}

func runSelfTest(args []string) int {
	fs := flag.NewFlagSet("selftest", flag.ContinueOnError)
	o := selftest.Options{Out: os.Stdout}
	o.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	return withClient("selftest", func(ctx context.Context, c client.Client) error {
		return selftest.Run(ctx, c, o)
	})
}

func runLabelNamespace(args []string) int {
	fs := flag.NewFlagSet("label-namespace", flag.ContinueOnError)
	namespace := fs.String("namespace", os.Getenv("POD_NAMESPACE"), "Namespace to label (default $POD_NAMESPACE).")
	labels := nslabel.Labels{}
	fs.Var(labels, "label", "A key=value label to set; repeat the flag for more.")
	guard := nslabel.Guard{}
	fs.StringVar(&guard.Release, "release", "", "Helm release whose pods (label app.kubernetes.io/instance) may run in the namespace.")
	fs.BoolVar(&guard.AllowShared, "allow-shared", false, "Label the namespace even when other workloads run in it.")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	return withClient("label-namespace", func(ctx context.Context, c client.Client) error {
		if err := nslabel.Apply(ctx, c, *namespace, labels, guard); err != nil {
			return err
		}
		fmt.Printf("namespace %s labelled %s\n", *namespace, labels)
		return nil
	})
}

func runUninstall(args []string) int {
	fs := flag.NewFlagSet("uninstall", flag.ContinueOnError)
	o := uninstall.Options{Out: os.Stdout}
	o.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	return withClient("uninstall", func(ctx context.Context, c client.Client) error {
		return uninstall.Run(ctx, c, o)
	})
}

// runVersion prints the version.
func runVersion([]string) int {
	fmt.Println(version.String("plinth-controller"))
	return 0
}

// runPause waits for SIGTERM or SIGINT.
func runPause([]string) int {
	<-ctrl.SetupSignalHandler().Done()
	return 0
}

// withClient runs f with a client of the in-cluster (or $KUBECONFIG)
// identity and turns its error into an exit code.
func withClient(name string, f func(ctx context.Context, c client.Client) error) int {
	err := func() error {
		cfg, err := ctrl.GetConfig()
		if err != nil {
			return fmt.Errorf("failed to load the client configuration: %w", err)
		}
		scheme, err := app.Scheme()
		if err != nil {
			return err
		}
		c, err := client.New(cfg, client.Options{Scheme: scheme})
		if err != nil {
			return fmt.Errorf("failed to create the client: %w", err)
		}
		return f(ctrl.SetupSignalHandler(), c)
	}()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}
