// Package production holds Skald's deployment files (docker-compose,
// Kubernetes, the example configuration); its test checks that they parse,
// that the Skald configurations in them load, and that every command-line
// flag they give a skald container is one skald has.
package production

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/skald-logs/skald/pkg/app"
)

// skaldFlags are the flags of the skald binary.
func skaldFlags() *flag.FlagSet {
	var cfg app.Config
	fs := flag.NewFlagSet("skald", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	// Registered by app.Load itself.
	fs.String("config.file", "", "")
	fs.Bool("config.expand-env", false, "")
	fs.Bool("version", false, "")
	return fs
}

// yamlFiles returns the YAML files under production/, decoded: one node
// per document.
func yamlFiles(t *testing.T) map[string][]*yaml.Node {
	t.Helper()
	out := map[string][]*yaml.Node{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Errorf("%s: %v", path, err)
				break
			}
			out[path] = append(out[path], &n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func decode[T any](t *testing.T, n *yaml.Node) T {
	t.Helper()
	var v T
	if err := n.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// checkArgs checks that args are skald flags with valid values and name a
// target.
func checkArgs(t *testing.T, where string, args []string) {
	t.Helper()
	fs := skaldFlags()
	var expanded []string
	for _, a := range args {
		// Kubernetes substitutes $(VAR) from the container's env.
		expanded = append(expanded, strings.ReplaceAll(a, "$(POD_IP)", "10.0.0.1"))
	}
	fs.SetOutput(io.Discard)
	if err := fs.Parse(expanded); err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	if fs.NArg() > 0 {
		t.Errorf("%s: arguments that are not flags: %v", where, fs.Args())
	}
	if fs.Lookup("target").Value.String() == "all" {
		t.Errorf("%s: a cluster member must name its -target", where)
	}
}

// loadConfig loads a skald configuration file as the binary does, with the
// environment the deployment gives it.
func loadConfig(t *testing.T, path string, extra ...string) *app.Config {
	t.Helper()
	t.Setenv("S3_ACCESS_KEY_ID", "key")
	t.Setenv("S3_SECRET_ACCESS_KEY", "secret")
	cfg, err := app.Load(append([]string{"-config.file=" + path, "-config.expand-env=true"}, extra...))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cfg
}

func TestEveryYAMLFileParses(t *testing.T) {
	files := yamlFiles(t)
	for _, want := range []string{
		"skald.yaml",
		"docker-compose/docker-compose.yaml",
		"docker-compose/skald.yaml",
		"docker-compose/grafana/provisioning/datasources/skald.yaml",
		"kubernetes/kustomization.yaml",
		"kubernetes/ingester.yaml",
	} {
		if _, ok := files[want]; !ok {
			t.Errorf("%s missing or empty", want)
		}
	}
}

func TestDockerCompose(t *testing.T) {
	files := yamlFiles(t)
	type service struct {
		Image       string
		Build       map[string]string
		Command     []string
		Hostname    string
		Ports       []string
		Volumes     []string
		Environment map[string]string
	}
	compose := decode[struct {
		Services map[string]service
	}](t, files["docker-compose/docker-compose.yaml"][0])

	cfg := loadConfig(t, "docker-compose/skald.yaml")
	if cfg.Storage.Backend != "s3" || cfg.Ingester.Lifecycler.Ring.ReplicationFactor != 3 || cfg.Storage.S3.AccessKeyID != "key" {
		t.Errorf("compose config: backend %s, RF %d, key %q", cfg.Storage.Backend, cfg.Ingester.Lifecycler.Ring.ReplicationFactor, cfg.Storage.S3.AccessKeyID)
	}

	targets := map[string]int{}
	for name, s := range compose.Services {
		if s.Image != "skald:latest" {
			continue
		}
		checkArgs(t, "compose service "+name, s.Command)
		fs := skaldFlags()
		fs.SetOutput(io.Discard)
		_ = fs.Parse(s.Command)
		targets[fs.Lookup("target").Value.String()]++
		if s.Build["dockerfile"] != "production/docker/Dockerfile" || s.Build["context"] != "../.." {
			t.Errorf("service %s builds %v", name, s.Build)
		}
		if _, err := os.Stat(filepath.Join("..", s.Build["dockerfile"])); err != nil {
			t.Errorf("service %s: %v", name, err)
		}
		if s.Hostname != name {
			t.Errorf("service %s: hostname %q; the ingester ID is the host name", name, s.Hostname)
		}
		// The config file mounted is the one checked above.
		if !slices.Contains(s.Volumes, "./skald.yaml:/etc/skald/skald.yaml:ro") {
			t.Errorf("service %s does not mount skald.yaml: %v", name, s.Volumes)
		}
		if s.Environment["S3_SECRET_ACCESS_KEY"] != compose.Services["minio"].Environment["MINIO_ROOT_PASSWORD"] {
			t.Errorf("service %s: S3 credentials differ from MinIO's", name)
		}
	}
	if targets["ingester"] != 3 || targets["distributor"] != 1 || targets["querier"] != 1 {
		t.Errorf("targets %v: want three ingesters, a distributor and a querier", targets)
	}
	// The gossip joins the ingesters by their service names.
	for _, m := range cfg.Memberlist.JoinMembers {
		host, _, _ := strings.Cut(m, ":")
		if _, ok := compose.Services[host]; !ok {
			t.Errorf("memberlist join %s names no service", m)
		}
	}
	if !slices.Contains(compose.Services["gateway"].Ports, "3100:3100") || !slices.Contains(compose.Services["grafana"].Ports, "3000:3000") {
		t.Errorf("gateway or grafana ports: %v %v", compose.Services["gateway"].Ports, compose.Services["grafana"].Ports)
	}
	ds := decode[struct {
		Datasources []struct{ Type, URL string }
	}](t, files["docker-compose/grafana/provisioning/datasources/skald.yaml"][0])
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "loki" || ds.Datasources[0].URL != "http://gateway:3100" {
		t.Errorf("grafana data source %+v", ds.Datasources)
	}
}

func TestKubernetes(t *testing.T) {
	files := yamlFiles(t)
	type container struct {
		Name  string
		Image string
		Args  []string
		Ports []struct {
			Name          string
			ContainerPort int `yaml:"containerPort"`
		}
	}
	type object struct {
		Kind     string
		Metadata struct{ Name, Namespace string }
		Spec     struct {
			Selector map[string]any
			Ports    []struct {
				Name       string
				Port       int
				TargetPort any `yaml:"targetPort"`
			}
			Template struct {
				Metadata struct{ Labels map[string]string }
				Spec     struct{ Containers []container }
			}
		}
		Data map[string]string
	}
	kust := decode[struct{ Resources []string }](t, files["kubernetes/kustomization.yaml"][0])
	labels := map[string]map[string]string{} // workload → pod labels
	var services []object
	targets := map[string]bool{}
	for _, res := range kust.Resources {
		docs, ok := files[filepath.Join("kubernetes", res)]
		if !ok {
			t.Errorf("kustomization names %s, which is missing", res)
			continue
		}
		for _, d := range docs {
			o := decode[object](t, d)
			if o.Kind != "Namespace" && o.Metadata.Namespace != "skald" {
				t.Errorf("%s %s in namespace %q", o.Kind, o.Metadata.Name, o.Metadata.Namespace)
			}
			switch o.Kind {
			case "ConfigMap":
				path := filepath.Join(t.TempDir(), "skald.yaml")
				if err := os.WriteFile(path, []byte(o.Data["skald.yaml"]), 0o644); err != nil {
					t.Fatal(err)
				}
				cfg := loadConfig(t, path)
				if cfg.Ingester.Lifecycler.Ring.ReplicationFactor != 3 || len(cfg.Memberlist.JoinMembers) != 1 {
					t.Errorf("kubernetes config: RF %d, join %v", cfg.Ingester.Lifecycler.Ring.ReplicationFactor, cfg.Memberlist.JoinMembers)
				}
			case "Service":
				services = append(services, o)
			case "Deployment", "StatefulSet":
				labels[o.Metadata.Name] = o.Spec.Template.Metadata.Labels
				for _, c := range o.Spec.Template.Spec.Containers {
					checkArgs(t, o.Kind+" "+o.Metadata.Name, c.Args)
					fs := skaldFlags()
					fs.SetOutput(io.Discard)
					_ = fs.Parse(c.Args)
					targets[fs.Lookup("target").Value.String()] = true
					ports := map[string]int{}
					for _, p := range c.Ports {
						ports[p.Name] = p.ContainerPort
					}
					if ports["http"] != 3100 || ports["grpc"] != 9095 || ports["gossip"] != 7946 {
						t.Errorf("%s ports %v do not match the config's", o.Metadata.Name, ports)
					}
				}
			}
		}
	}
	for _, want := range []string{"distributor", "ingester", "querier", "compactor"} {
		if !targets[want] {
			t.Errorf("no workload runs -target=%s", want)
		}
	}
	// Every service selects some pods.
	for _, s := range services {
		matched := false
		for _, l := range labels {
			ok := len(s.Spec.Selector) > 0
			for k, v := range s.Spec.Selector {
				ok = ok && l[k] == v
			}
			matched = matched || ok
		}
		if !matched {
			t.Errorf("service %s selects no pod (%v)", s.Metadata.Name, s.Spec.Selector)
		}
	}
}

func TestExampleConfigLoads(t *testing.T) {
	cfg := loadConfig(t, "skald.yaml")
	if cfg.Target != "all" {
		t.Errorf("example config target %q", cfg.Target)
	}
}
