package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// composeFile is the part of compose.yaml the tests look at (yaml.v3 resolves the `<<` merge
// of the x-lokerwatch anchor).
type composeFile struct {
	Services map[string]struct {
		Image string `yaml:"image"`
		Build *struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
		Command   []string       `yaml:"command"`
		ReadOnly  bool           `yaml:"read_only"`
		User      string         `yaml:"user"`
		Volumes   []string       `yaml:"volumes"`
		Ports     []string       `yaml:"ports"`
		DependsOn any            `yaml:"depends_on"`
		Deploy    map[string]any `yaml:"deploy"`
		Restart   string         `yaml:"restart"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

func TestCompose(t *testing.T) {
	var c composeFile
	readYAML(t, "compose/compose.yaml", &c)
	for _, name := range []string{"redis", "seed", "worker", "console", "prometheus", "grafana"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("compose.yaml: no service %s", name)
		}
	}
	redis := strings.Join(c.Services["redis"].Command, " ")
	for _, want := range []string{"--appendonly yes", "--maxmemory-policy noeviction"} {
		if !strings.Contains(redis, want) {
			t.Errorf("redis command %q lacks %q", redis, want)
		}
	}
	if r, _ := c.Services["worker"].Deploy["replicas"].(int); r != 2 {
		t.Errorf("worker replicas = %v, want 2", c.Services["worker"].Deploy["replicas"])
	}
	for name, s := range c.Services {
		where := "compose service " + name
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(filepath.Join("compose", src)); err != nil {
					t.Errorf("%s: bind mount %s: %v", where, src, err)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("%s: named volume %s is not declared", where, src)
			}
		}
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s: port %s is published on all interfaces; bind 127.0.0.1", where, p)
			}
		}
		if s.Image != "${LOKERWATCH_IMAGE:-lokerwatch:dev}" {
			continue
		}
		// The lokerwatch services.
		if s.Build == nil {
			t.Errorf("%s: no build section", where)
		} else {
			ctx := filepath.Join("compose", s.Build.Context)
			for _, f := range []string{s.Build.Dockerfile, "go.mod", "cmd/lokerwatch"} {
				if _, err := os.Stat(filepath.Join(ctx, f)); err != nil {
					t.Errorf("%s: build context %s: %v", where, s.Build.Context, err)
				}
			}
		}
		if !s.ReadOnly || s.User != "65532:65532" {
			t.Errorf("%s: want read_only: true and user 65532:65532", where)
		}
		checkLokerwatchArgs(t, where, s.Command)
		if !slices.Contains(s.Volumes, "./lokerwatch.yaml:/etc/lokerwatch/lokerwatch.yaml:ro") {
			t.Errorf("%s: the config is not mounted read-only at /etc/lokerwatch/lokerwatch.yaml", where)
		}
	}
	if got := c.Services["seed"].Command; len(got) == 0 || got[0] != "seed" || c.Services["seed"].Restart != "no" {
		t.Errorf("seed: want a one-shot `seed` with restart: \"no\", got %v restart %q", got, c.Services["seed"].Restart)
	}
	if got := c.Services["console"].Command; len(got) == 0 || got[0] != "serve" {
		t.Errorf("console: command %v, want serve", got)
	}
	workerDeps, _ := c.Services["worker"].DependsOn.(map[string]any)
	if seed, _ := workerDeps["seed"].(map[string]any); seed["condition"] != "service_completed_successfully" {
		t.Errorf("worker must wait for the seed to complete: depends_on %v", c.Services["worker"].DependsOn)
	}
}

// TestGrafanaProvisioning: the datasource is a Prometheus and the dashboard provider reads the
// directory compose mounts the dashboards into.
func TestGrafanaProvisioning(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, UID, Type, URL string
		} `yaml:"datasources"`
	}
	readYAML(t, "grafana/provisioning/datasources/prometheus.yaml", &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Errorf("datasource provisioning: %+v", ds)
	}
	var dp struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "grafana/provisioning/dashboards/lokerwatch.yaml", &dp)
	if dp.APIVersion != 1 || len(dp.Providers) != 1 || dp.Providers[0].Type != "file" {
		t.Fatalf("dashboard provisioning: %+v", dp)
	}
	var c composeFile
	readYAML(t, "compose/compose.yaml", &c)
	mounts := map[string]string{}
	for _, v := range c.Services["grafana"].Volumes {
		parts := strings.Split(v, ":")
		mounts[parts[1]] = parts[0]
	}
	if mounts[dp.Providers[0].Options.Path] != "../grafana/dashboards" {
		t.Errorf("provider reads %s, but compose mounts ../grafana/dashboards at another path (%v)", dp.Providers[0].Options.Path, mounts)
	}
	if mounts["/etc/grafana/provisioning"] != "../grafana/provisioning" {
		t.Errorf("compose does not mount ../grafana/provisioning at /etc/grafana/provisioning (%v)", mounts)
	}
}

// TestDockerfile checks what the image promises, since Docker cannot build here.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("docker/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	for _, want := range []string{
		"CGO_ENABLED=0",
		"-X main.version=${VERSION}",
		"./cmd/lokerwatch",
		"COPY go.mod go.sum ./",
		"USER 65532:65532",
		`ENTRYPOINT ["/usr/local/bin/lokerwatch"]`,
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	var images []string // the image of each FROM, skipping --platform=…
	for _, m := range regexp.MustCompile(`(?m)^FROM[ \t]+(.+)$`).FindAllStringSubmatch(df, -1) {
		for _, f := range strings.Fields(m[1]) {
			if !strings.HasPrefix(f, "--") {
				images = append(images, f)
				break
			}
		}
	}
	if len(images) != 2 {
		t.Fatalf("want a two-stage build, got FROM images %v", images)
	}
	if final := images[1]; !strings.HasPrefix(final, "gcr.io/distroless/static") || !strings.HasSuffix(final, ":nonroot") {
		t.Errorf("final stage %q, want gcr.io/distroless/static…:nonroot", final)
	}
	// main.version is what -X sets: the variable must exist in package main.
	src, err := os.ReadFile("../cmd/lokerwatch/main.go")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^var version = `).Match(src) {
		t.Error("cmd/lokerwatch/main.go has no `var version = …` for -ldflags -X main.version")
	}
}
