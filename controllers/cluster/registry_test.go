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

package cluster_test

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/plinth-dev/plinth/controllers/cluster"
	"github.com/plinth-dev/plinth/controllers/cluster/nodeipam"
)

func TestEnableFlagsSetTheControllersTheyName(t *testing.T) {
	controllers := cluster.DefaultControllers()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cluster.BindFlags(fs, controllers)
	if err := fs.Parse([]string{"--enable-" + nodeipam.ControllerName + "=false"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range controllers {
		if c.Name == nodeipam.ControllerName && c.Enabled {
			t.Errorf("%s is still enabled after --enable-%s=false", c.Name, c.Name)
		}
	}
	for _, c := range cluster.DefaultControllers() {
		if c.Name == nodeipam.ControllerName && !c.Enabled {
			t.Errorf("the flag changed the registry's default for %s", c.Name)
		}
	}
}

func TestRegistryNamesAreUniqueAndComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range cluster.DefaultControllers() {
		if c.Name == "" || c.Setup == nil {
			t.Errorf("controller %+v needs a name and a setup function", c)
		}
		if seen[c.Name] {
			t.Errorf("controller name %s is registered twice", c.Name)
		}
		seen[c.Name] = true
	}
}

// hack/manifests.sh gives each package under controllers/cluster the role
// plinth-controller-<its ControllerName>; the chart binds that role when
// --enable-<name> is on. So the packages' names and the registry's must be
// the same set.
func TestEveryControllerPackageHasOneRegistryEntry(t *testing.T) {
	var packages []string
	dirs, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if d.IsDir() {
			packages = append(packages, controllerName(t, d.Name()))
		}
	}
	var registered []string
	for _, c := range cluster.DefaultControllers() {
		registered = append(registered, c.Name)
	}
	slices.Sort(packages)
	slices.Sort(registered)
	if !slices.Equal(packages, registered) {
		t.Errorf("ControllerName of the packages = %v, registry = %v", packages, registered)
	}
}

// controllerName returns the value of the ControllerName constant of the
// package in dir.
func controllerName(t *testing.T, dir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if name, ok := constString(file, "ControllerName"); ok {
			return name
		}
	}
	t.Errorf("package %s declares no ControllerName", dir)
	return ""
}

// constString returns the string value of a top-level constant of file.
func constString(file *ast.File, name string) (string, bool) {
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			v := spec.(*ast.ValueSpec)
			for i, id := range v.Names {
				if id.Name != name || i >= len(v.Values) {
					continue
				}
				if lit, ok := v.Values[i].(*ast.BasicLit); ok {
					s, err := strconv.Unquote(lit.Value)
					return s, err == nil
				}
			}
		}
	}
	return "", false
}
