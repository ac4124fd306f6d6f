package deploy

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/lokerwatch/lokerwatch/config"
)

var update = flag.Bool("update", false, "rewrite generated files (the PrometheusRule) from their sources")

// kustomization is the subset of kustomization.yaml fields these manifests use. It is decoded
// strictly, so a misspelled key fails here instead of being ignored by kustomize's users.
type kustomization struct {
	APIVersion         string         `yaml:"apiVersion"`
	Kind               string         `yaml:"kind"`
	Namespace          string         `yaml:"namespace"`
	Labels             []any          `yaml:"labels"`
	Resources          []string       `yaml:"resources"`
	Components         []string       `yaml:"components"`
	Patches            []patchRef     `yaml:"patches"`
	ConfigMapGenerator []generatorRef `yaml:"configMapGenerator"`
	Images             []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
		Digest  string `yaml:"digest"`
	} `yaml:"images"`
}

type patchRef struct {
	Path string `yaml:"path"`
}

type generatorRef struct {
	Name     string         `yaml:"name"`
	Behavior string         `yaml:"behavior"`
	Files    []string       `yaml:"files"`
	Options  map[string]any `yaml:"options"`
}

// k8sObject is one Kubernetes manifest document.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec yaml.Node `yaml:"spec"`
	File string    `yaml:"-"`
}

// build is what a kustomization amounts to, roughly: its objects (patches not applied) and the
// ConfigMaps its generators make.
type build struct {
	objects    []k8sObject
	configMaps []string
}

func (b build) find(kind, name string) *k8sObject {
	for i := range b.objects {
		if b.objects[i].Kind == kind && b.objects[i].Metadata.Name == name {
			return &b.objects[i]
		}
	}
	return nil
}

func readKustomization(dir string) (*kustomization, error) {
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var k kustomization
	if err := dec.Decode(&k); err != nil {
		return nil, fmt.Errorf("%s/kustomization.yaml: %w", dir, err)
	}
	return &k, nil
}

func readObjects(path string) ([]k8sObject, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var objs []k8sObject
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
			return nil, fmt.Errorf("%s: a document without apiVersion, kind or metadata.name", path)
		}
		o.File = path
		objs = append(objs, o)
	}
	return objs, nil
}

// inside reports whether path stays under dir (kustomize's default load restrictor refuses
// files outside the kustomization's directory; directories of other kustomizations are fine).
func inside(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// loadKustomization checks one kustomization and everything it references, and returns what
// it builds. wantKind is Kustomization or Component.
func loadKustomization(t *testing.T, dir, wantKind string) build {
	t.Helper()
	k, err := readKustomization(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantAPI := map[string]string{
		"Kustomization": "kustomize.config.k8s.io/v1beta1",
		"Component":     "kustomize.config.k8s.io/v1alpha1",
	}[wantKind]
	if k.Kind != wantKind || k.APIVersion != wantAPI {
		t.Errorf("%s: %s %s, want %s %s", dir, k.APIVersion, k.Kind, wantAPI, wantKind)
	}
	var b build
	for _, r := range k.Resources {
		p := filepath.Join(dir, r)
		st, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: resource %s: %v", dir, r, err)
			continue
		}
		if st.IsDir() {
			sub := loadKustomization(t, p, "Kustomization")
			b.objects = append(b.objects, sub.objects...)
			b.configMaps = append(b.configMaps, sub.configMaps...)
			continue
		}
		if !inside(dir, p) {
			t.Errorf("%s: resource file %s is outside the kustomization directory", dir, r)
		}
		objs, err := readObjects(p)
		if err != nil {
			t.Error(err)
		}
		b.objects = append(b.objects, objs...)
	}
	for _, c := range k.Components {
		sub := loadKustomization(t, filepath.Join(dir, c), "Component")
		b.objects = append(b.objects, sub.objects...)
		b.configMaps = append(b.configMaps, sub.configMaps...)
	}
	for _, g := range k.ConfigMapGenerator {
		if len(g.Files) == 0 {
			t.Errorf("%s: configMapGenerator %s has no files", dir, g.Name)
		}
		for _, f := range g.Files {
			_, file, ok := strings.Cut(f, "=")
			if !ok {
				file = f
			}
			p := filepath.Join(dir, file)
			if !inside(dir, p) {
				t.Errorf("%s: configMapGenerator %s: %s is outside the kustomization directory (load restrictor)", dir, g.Name, file)
			}
			if _, err := os.Stat(p); err != nil {
				t.Errorf("%s: configMapGenerator %s: %v", dir, g.Name, err)
			}
		}
		b.configMaps = append(b.configMaps, g.Name)
	}
	for _, pr := range k.Patches {
		p := filepath.Join(dir, pr.Path)
		if !inside(dir, p) {
			t.Errorf("%s: patch %s is outside the kustomization directory", dir, pr.Path)
		}
		objs, err := readObjects(p)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, o := range objs {
			if b.find(o.Kind, o.Metadata.Name) == nil {
				t.Errorf("%s: patch %s targets %s/%s, which the kustomization does not have", dir, pr.Path, o.Kind, o.Metadata.Name)
			}
		}
	}
	return b
}

// readManifests returns the objects a kustomization builds.
func readManifests(t *testing.T, dir string) []k8sObject {
	t.Helper()
	return loadKustomization(t, dir, "Kustomization").objects
}

func TestKustomizeOverlays(t *testing.T) {
	for _, overlay := range []string{"kubernetes/overlays/dev", "kubernetes/overlays/prod"} {
		t.Run(filepath.Base(overlay), func(t *testing.T) {
			b := loadKustomization(t, overlay, "Kustomization")
			want := []struct{ kind, name string }{
				{"Namespace", ""}, {"Deployment", "lokerwatch-worker"}, {"Deployment", "lokerwatch-console"},
				{"StatefulSet", "lokerwatch-redis"}, {"Service", "lokerwatch-worker"}, {"Service", "lokerwatch-console"},
				{"Service", "lokerwatch-redis"}, {"CronJob", "lokerwatch-seed"}, {"NetworkPolicy", "lokerwatch-redis"},
			}
			if strings.HasSuffix(overlay, "prod") {
				want = append(want, struct{ kind, name string }{"ServiceMonitor", "lokerwatch-worker"},
					struct{ kind, name string }{"ServiceMonitor", "lokerwatch-console"},
					struct{ kind, name string }{"PrometheusRule", "lokerwatch"},
					struct{ kind, name string }{"PodDisruptionBudget", "lokerwatch-console"})
			}
			for _, w := range want {
				found := false
				for _, o := range b.objects {
					found = found || (o.Kind == w.kind && (w.name == "" || o.Metadata.Name == w.name))
				}
				if !found {
					t.Errorf("%s builds no %s %s", overlay, w.kind, w.name)
				}
			}
			for _, cm := range []string{"lokerwatch-config", "lokerwatch-alerts", "lokerwatch-dashboard"} {
				if !slices.Contains(b.configMaps, cm) {
					t.Errorf("%s generates no ConfigMap %s", overlay, cm)
				}
			}
			checkWorkloads(t, b)
		})
	}
}

// Pod-level and container-level settings every workload must keep.
type podSpec struct {
	AutomountServiceAccountToken *bool `yaml:"automountServiceAccountToken"`
	SecurityContext              struct {
		RunAsNonRoot *bool `yaml:"runAsNonRoot"`
		RunAsUser    int   `yaml:"runAsUser"`
	} `yaml:"securityContext"`
	Containers []struct {
		Name  string   `yaml:"name"`
		Image string   `yaml:"image"`
		Args  []string `yaml:"args"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		LivenessProbe  *probe `yaml:"livenessProbe"`
		ReadinessProbe *probe `yaml:"readinessProbe"`
		Resources      struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		SecurityContext struct {
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
			Capabilities             struct {
				Drop []string `yaml:"drop"`
			} `yaml:"capabilities"`
		} `yaml:"securityContext"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	} `yaml:"containers"`
	Volumes []struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
	} `yaml:"volumes"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
	Exec *struct {
		Command []string `yaml:"command"`
	} `yaml:"exec"`
}

type podTemplate struct {
	// Claims are a StatefulSet's volumeClaimTemplates names, usable as volumes.
	Claims   []string `yaml:"-"`
	Metadata struct {
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec podSpec `yaml:"spec"`
}

// podTemplateOf digs the pod template out of a Deployment, StatefulSet or CronJob.
func podTemplateOf(t *testing.T, o k8sObject) (*podTemplate, bool) {
	t.Helper()
	var pt podTemplate
	switch o.Kind {
	case "Deployment", "StatefulSet":
		var spec struct {
			Template             podTemplate `yaml:"template"`
			VolumeClaimTemplates []struct {
				Metadata struct {
					Name string `yaml:"name"`
				} `yaml:"metadata"`
			} `yaml:"volumeClaimTemplates"`
		}
		if err := o.Spec.Decode(&spec); err != nil {
			t.Fatalf("%s %s: %v", o.File, o.Metadata.Name, err)
		}
		pt = spec.Template
		for _, c := range spec.VolumeClaimTemplates {
			pt.Claims = append(pt.Claims, c.Metadata.Name)
		}
	case "CronJob":
		var spec struct {
			JobTemplate struct {
				Spec struct {
					Template podTemplate `yaml:"template"`
				} `yaml:"spec"`
			} `yaml:"jobTemplate"`
		}
		if err := o.Spec.Decode(&spec); err != nil {
			t.Fatalf("%s %s: %v", o.File, o.Metadata.Name, err)
		}
		pt = spec.JobTemplate.Spec.Template
	default:
		return nil, false
	}
	return &pt, true
}

func checkWorkloads(t *testing.T, b build) {
	t.Helper()
	isTrue := func(p *bool) bool { return p != nil && *p }
	podLabels := map[string]map[string]string{}
	containerPorts := map[string][]string{}
	for _, o := range b.objects {
		pt, ok := podTemplateOf(t, o)
		if !ok {
			continue
		}
		where := o.Kind + " " + o.Metadata.Name
		podLabels[o.Metadata.Name] = pt.Metadata.Labels
		s := pt.Spec
		if !isTrue(s.SecurityContext.RunAsNonRoot) || s.SecurityContext.RunAsUser == 0 {
			t.Errorf("%s: pod securityContext needs runAsNonRoot: true and a non-zero runAsUser", where)
		}
		if s.AutomountServiceAccountToken == nil || *s.AutomountServiceAccountToken {
			t.Errorf("%s: automountServiceAccountToken should be false (no Kubernetes API use)", where)
		}
		volumes := map[string]bool{}
		for _, c := range pt.Claims {
			volumes[c] = true
		}
		for _, v := range s.Volumes {
			volumes[v.Name] = true
			if v.ConfigMap != nil && !slices.Contains(b.configMaps, v.ConfigMap.Name) {
				t.Errorf("%s: volume %s mounts ConfigMap %s, which no generator makes", where, v.Name, v.ConfigMap.Name)
			}
		}
		for _, c := range s.Containers {
			cw := where + " container " + c.Name
			sc := c.SecurityContext
			if !isTrue(sc.ReadOnlyRootFilesystem) || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				t.Errorf("%s: needs readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities.drop: [ALL]", cw)
			}
			if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
				t.Errorf("%s: needs cpu and memory requests and a memory limit", cw)
			}
			for _, m := range c.VolumeMounts {
				if !volumes[m.Name] {
					t.Errorf("%s: mounts undefined volume %s", cw, m.Name)
				}
			}
			for _, p := range c.Ports {
				containerPorts[o.Metadata.Name] = append(containerPorts[o.Metadata.Name], p.Name)
			}
			if c.Image == "lokerwatch" {
				checkLokerwatchArgs(t, cw, c.Args)
				if o.Kind == "CronJob" {
					continue // a one-shot has no probes
				}
				if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
					t.Errorf("%s: livenessProbe must GET /healthz", cw)
				}
				if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
					t.Errorf("%s: readinessProbe must GET /readyz", cw)
				}
				for _, pr := range []*probe{c.LivenessProbe, c.ReadinessProbe} {
					if pr != nil && pr.HTTPGet != nil && !slices.Contains(containerPortNames(c.Ports), pr.HTTPGet.Port) {
						t.Errorf("%s: probe port %q is not a named container port", cw, pr.HTTPGet.Port)
					}
				}
			}
			if strings.HasPrefix(c.Image, "redis:") {
				args := strings.Join(c.Args, " ")
				for _, want := range []string{"--appendonly yes", "--maxmemory-policy noeviction"} {
					if !strings.Contains(args, want) {
						t.Errorf("%s: redis args %q lack %q", cw, args, want)
					}
				}
				if c.LivenessProbe == nil || c.ReadinessProbe == nil {
					t.Errorf("%s: redis needs liveness and readiness probes", cw)
				}
			}
		}
	}
	// Services must select a pod template and point at its named ports.
	for _, o := range b.objects {
		if o.Kind != "Service" {
			continue
		}
		var spec struct {
			Selector map[string]string `yaml:"selector"`
			Ports    []struct {
				Name       string `yaml:"name"`
				TargetPort string `yaml:"targetPort"`
			} `yaml:"ports"`
		}
		if err := o.Spec.Decode(&spec); err != nil {
			t.Fatal(err)
		}
		matched := ""
		for workload, labels := range podLabels {
			ok := len(spec.Selector) > 0
			for k, v := range spec.Selector {
				ok = ok && labels[k] == v
			}
			if ok {
				matched = workload
			}
		}
		if matched == "" {
			t.Errorf("Service %s selects no pod template (%v)", o.Metadata.Name, spec.Selector)
			continue
		}
		for _, p := range spec.Ports {
			if !slices.Contains(containerPorts[matched], p.TargetPort) {
				t.Errorf("Service %s: targetPort %q is not a named port of %s", o.Metadata.Name, p.TargetPort, matched)
			}
		}
	}
}

func containerPortNames(ports []struct {
	Name          string `yaml:"name"`
	ContainerPort int    `yaml:"containerPort"`
}) []string {
	var names []string
	for _, p := range ports {
		names = append(names, p.Name)
	}
	return names
}

// checkLokerwatchArgs checks a lokerwatch command line against the CLI contract: a known
// subcommand, the mounted config, a Redis store, and --metrics-listen on workers.
func checkLokerwatchArgs(t *testing.T, where string, args []string) {
	t.Helper()
	if len(args) == 0 {
		t.Errorf("%s: no subcommand", where)
		return
	}
	flagValue := func(name string) string {
		for i, a := range args {
			if a == name && i+1 < len(args) {
				return args[i+1]
			}
		}
		return ""
	}
	if !slices.Contains([]string{"seed", "worker", "serve"}, args[0]) {
		t.Errorf("%s: subcommand %q, want seed, worker or serve", where, args[0])
	}
	if flagValue("--config") != "/etc/lokerwatch/lokerwatch.yaml" {
		t.Errorf("%s: --config %q, want /etc/lokerwatch/lokerwatch.yaml", where, flagValue("--config"))
	}
	if !strings.HasPrefix(flagValue("--store"), "redis://") {
		t.Errorf("%s: --store %q, want a redis:// URL shared by all processes", where, flagValue("--store"))
	}
	if args[0] == "worker" && flagValue("--metrics-listen") != ":9090" {
		t.Errorf("%s: worker needs --metrics-listen :9090 (probes and scraping use it)", where)
	}
}

// TestKustomizeComponents checks the Components also on their own (they are shared by overlays).
func TestKustomizeComponents(t *testing.T) {
	for _, dir := range []string{"prometheus", "grafana", "kubernetes/components/prometheus-operator"} {
		loadKustomization(t, dir, "Component")
	}
	// Every kustomization.yaml under deploy/ is reached from an overlay or listed above.
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.Name() != "kustomization.yaml" {
			return err
		}
		k, err := readKustomization(filepath.Dir(p))
		if err != nil {
			t.Error(err)
		}
		if k != nil && k.Kind == "" {
			t.Errorf("%s: no kind", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestServiceMonitorsMatchServices: each ServiceMonitor selects a Service by its labels and
// scrapes a port the Service names.
func TestServiceMonitorsMatchServices(t *testing.T) {
	b := loadKustomization(t, "kubernetes/overlays/prod", "Kustomization")
	for _, o := range b.objects {
		if o.Kind != "ServiceMonitor" {
			continue
		}
		var spec struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Endpoints []struct {
				Port string `yaml:"port"`
			} `yaml:"endpoints"`
		}
		if err := o.Spec.Decode(&spec); err != nil {
			t.Fatal(err)
		}
		svc := b.find("Service", o.Metadata.Name)
		if svc == nil {
			t.Errorf("ServiceMonitor %s: no Service of that name (the job label would differ from the alerts')", o.Metadata.Name)
			continue
		}
		for k, v := range spec.Selector.MatchLabels {
			if svc.Metadata.Labels[k] != v {
				t.Errorf("ServiceMonitor %s selects %s=%s; Service has %v", o.Metadata.Name, k, v, svc.Metadata.Labels)
			}
		}
		var ss struct {
			Ports []struct {
				Name string `yaml:"name"`
			} `yaml:"ports"`
		}
		if err := svc.Spec.Decode(&ss); err != nil {
			t.Fatal(err)
		}
		for _, e := range spec.Endpoints {
			found := false
			for _, p := range ss.Ports {
				found = found || p.Name == e.Port
			}
			if !found {
				t.Errorf("ServiceMonitor %s scrapes port %q, which Service %s does not name", o.Metadata.Name, e.Port, svc.Metadata.Name)
			}
		}
	}
}

// TestExampleConfigsLoad: the configs shipped for compose and Kubernetes pass lokerwatch's own
// config validation.
func TestExampleConfigsLoad(t *testing.T) {
	for _, p := range []string{"compose/lokerwatch.yaml", "kubernetes/base/lokerwatch.yaml"} {
		cfg, err := config.Load(p, nil)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if cfg.Review.Listen != ":8080" {
			t.Errorf("%s: review.listen %q; in a container it must be :8080 (all interfaces), as the probes and Services expect", p, cfg.Review.Listen)
		}
		if len(cfg.Sources) == 0 {
			t.Errorf("%s: no sources", p)
		}
	}
}
