package app_test

import (
	"flag"
	"testing"

	"github.com/plinth-dev/plinth/cmd/plinth-controller/app"
	"github.com/plinth-dev/plinth/controllers/nodeipam"
)

func TestEnableFlagsSetTheControllersTheyName(t *testing.T) {
	controllers := app.DefaultControllers()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	app.BindControllerFlags(fs, controllers)
	if err := fs.Parse([]string{"--enable-" + nodeipam.ControllerName + "=false"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range controllers {
		if c.Name == nodeipam.ControllerName && c.Enabled {
			t.Errorf("%s is still enabled after --enable-%s=false", c.Name, c.Name)
		}
	}
	for _, c := range app.DefaultControllers() {
		if c.Name == nodeipam.ControllerName && !c.Enabled {
			t.Errorf("the flag changed the registry's default for %s", c.Name)
		}
	}
}

func TestRegistryNamesAreUniqueAndComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range app.DefaultControllers() {
		if c.Name == "" || c.Setup == nil {
			t.Errorf("controller %+v needs a name and a setup function", c)
		}
		if seen[c.Name] {
			t.Errorf("controller name %s is registered twice", c.Name)
		}
		seen[c.Name] = true
	}
}

func TestSchemeKnowsEveryPlinthAPI(t *testing.T) {
	s, err := app.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	for _, gv := range []string{"v1", "network.plinth.dev/v1alpha1", "storage.plinth.dev/v1alpha1", "snapshot.storage.k8s.io/v1"} {
		found := false
		for _, v := range s.PrioritizedVersionsAllGroups() {
			found = found || v.String() == gv
		}
		if !found {
			t.Errorf("scheme lacks %s", gv)
		}
	}
}
