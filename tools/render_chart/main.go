// render_chart renders a Helm chart the way `helm template` does, for machines
// without helm (Debian packages no helm binary): Go's text/template with the
// Sprig functions (Debian's golang-github-masterminds-sprig-dev) and Helm's own
// additions (include, tpl, required, toYaml, fromYaml, toJson, fromJson, lookup),
// the .Values / .Release / .Chart / .Capabilities / .Template / .Files objects,
// values coalesced like Helm's (later -f files win, null deletes a key), and
// Helm's output format ("---\n# Source: CHART/templates/FILE").
//
// Build (GOPATH mode, offline): see tools/render_chart/build.sh.
//
//	render_chart [-f values.yaml]... [--set-string k.e.y=v]... [--name RELEASE]
//	    [--namespace NS] [--api-versions v1,...] [--kube-version v1.29.0]
//	    [--dump-values FILE.json] [-o OUT.yaml] CHART_DIR
//
// Not implemented (the Weaver chart does not use them): subcharts and
// dependencies, hooks, NOTES.txt, .helmignore, lookup against a cluster
// (it returns an empty map, as helm template does), values.schema.json
// validation (tools/k8s_validate does it with ajv).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig" // GOPATH mode: Debian's Sprig v3 sources
	"github.com/ghodss/yaml"
)

// docSep splits a rendered template into YAML documents (Helm's SplitManifests).
var docSep = regexp.MustCompile(`(?:^|\s*\n)---\s*`)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// Chart is .Chart: Chart.yaml's fields under Helm's Go names.
type Chart struct {
	APIVersion  string            `json:"apiVersion"`
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	AppVersion  string            `json:"appVersion"`
	Description string            `json:"description"`
	Type        string            `json:"type"`
	KubeVersion string            `json:"kubeVersion"`
	Keywords    []string          `json:"keywords"`
	Home        string            `json:"home"`
	Sources     []string          `json:"sources"`
	Icon        string            `json:"icon"`
	Annotations map[string]string `json:"annotations"`
	Deprecated  bool              `json:"deprecated"`
}

// Release is .Release.
type Release struct {
	Name      string
	Namespace string
	Service   string
	IsInstall bool
	IsUpgrade bool
	Revision  int
}

// KubeVersion is .Capabilities.KubeVersion.
type KubeVersion struct {
	Version string
	Major   string
	Minor   string
}

func (k KubeVersion) String() string { return k.Version }

// GitVersion is Helm's deprecated alias of Version.
func (k KubeVersion) GitVersion() string { return k.Version }

// VersionSet is .Capabilities.APIVersions.
type VersionSet []string

// Has is true for "group/version" or "group/version/Kind" in the set.
func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

// Capabilities is .Capabilities.
type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
	HelmVersion map[string]string
}

// Files is .Files: the chart's files outside templates/, by slash path.
type Files map[string][]byte

// Get returns a file's content, "" when there is none.
func (f Files) Get(name string) string { return string(f[name]) }

// GetBytes returns a file's bytes.
func (f Files) GetBytes(name string) []byte { return f[name] }

// Glob returns the files whose path matches the pattern (path.Match, plus
// "**" for any number of folders).
func (f Files) Glob(pattern string) Files {
	out := Files{}
	for name, data := range f {
		if globMatch(pattern, name) {
			out[name] = data
		}
	}
	return out
}

// Lines splits a file into lines.
func (f Files) Lines(name string) []string {
	s := string(f[name])
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// AsConfig renders the files as a ConfigMap's data (base name: content).
func (f Files) AsConfig() string {
	m := map[string]string{}
	for name, data := range f {
		m[path.Base(name)] = string(data)
	}
	return toYAML(m)
}

// AsSecrets renders the files as a Secret's data (base name: base64).
func (f Files) AsSecrets() string {
	m := map[string]string{}
	enc := sprig.TxtFuncMap()["b64enc"].(func(string) string)
	for name, data := range f {
		m[path.Base(name)] = enc(string(data))
	}
	return toYAML(m)
}

func globMatch(pattern, name string) bool {
	if !strings.Contains(pattern, "**") {
		ok, _ := path.Match(pattern, name)
		return ok
	}
	parts := strings.SplitN(pattern, "**", 2)
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	rest := strings.TrimPrefix(name, parts[0])
	suffix := strings.TrimPrefix(parts[1], "/")
	segs := strings.Split(rest, "/")
	for i := range segs {
		if ok, _ := path.Match(suffix, strings.Join(segs[i:], "/")); ok {
			return true
		}
	}
	return false
}

// toYAML is Helm's toYaml: JSON-compatible YAML, no trailing newline, "" on error.
func toYAML(v interface{}) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func fromYAML(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromYAMLArray(s string) []interface{} {
	var a []interface{}
	if err := yaml.Unmarshal([]byte(s), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

func toJSON(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(data)
}

func fromJSON(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

// readValues reads a YAML values file as Helm does (YAML through JSON).
func readValues(file string) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	if m == nil {
		m = map[string]interface{}{}
	}
	return m, nil
}

// coalesce merges src over dst like Helm: maps merge key by key, anything
// else replaces, and a null in src deletes the key.
func coalesce(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, sok := v.(map[string]interface{})
		dm, dok := dst[k].(map[string]interface{})
		if sok && dok {
			dst[k] = coalesce(dm, sm)
		} else {
			dst[k] = v
		}
	}
	return dst
}

// setString applies --set-string a.b.c=value.
func setString(values map[string]interface{}, expr string) error {
	eq := strings.Index(expr, "=")
	if eq <= 0 {
		return fmt.Errorf("--set-string %q: expected key=value", expr)
	}
	keys := strings.Split(expr[:eq], ".")
	m := values
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = expr[eq+1:]
	return nil
}

func loadFiles(chartDir string) (Files, error) {
	files := Files{}
	err := walk(chartDir, "", func(rel string, data []byte) {
		if rel == "Chart.yaml" || rel == "values.yaml" || rel == "values.schema.json" ||
			strings.HasPrefix(rel, "templates/") || strings.HasPrefix(rel, "charts/") {
			return
		}
		files[rel] = data
	})
	return files, err
}

// walk visits every regular file under dir, following symbolic links (as
// Helm's chart loader does), with slash-separated paths relative to dir.
func walk(dir, rel string, fn func(string, []byte)) error {
	entries, err := os.ReadDir(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		return err
	}
	for _, e := range entries {
		r := path.Join(rel, e.Name())
		full := filepath.Join(dir, filepath.FromSlash(r))
		st, err := os.Stat(full) // follows links
		if err != nil {
			return err
		}
		if st.IsDir() {
			if err := walk(dir, r, fn); err != nil {
				return err
			}
			continue
		}
		data, err := os.ReadFile(full)
		if err != nil {
			return err
		}
		fn(r, data)
	}
	return nil
}

type renderer struct {
	tmpl  *template.Template
	chart string
}

func (r *renderer) funcs() template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env") // as Helm: templates must not read the environment
	delete(f, "expandenv")
	f["toYaml"] = toYAML
	f["fromYaml"] = fromYAML
	f["fromYamlArray"] = fromYAMLArray
	f["toJson"] = toJSON
	f["fromJson"] = fromJSON
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	f["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	f["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		if err := r.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := r.tmpl.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", fmt.Errorf("tpl: %v", err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", fmt.Errorf("tpl: %v", err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	return f
}

func main() {
	var valueFiles, setStrings multiFlag
	flag.Var(&valueFiles, "f", "values file (repeatable; later files win)")
	flag.Var(&setStrings, "set-string", "key.path=value (repeatable)")
	name := flag.String("name", "weaver", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	apiVersions := flag.String("api-versions", "", "extra API versions the cluster serves, comma-separated (e.g. monitoring.coreos.com/v1)")
	kubeVersion := flag.String("kube-version", "v1.29.0", "Kubernetes version for .Capabilities")
	dumpValues := flag.String("dump-values", "", "write the coalesced values as JSON to this file")
	out := flag.String("o", "", "output file (default: stdout)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: render_chart [flags] CHART_DIR")
		flag.PrintDefaults()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), valueFiles, setStrings, *name, *namespace, *apiVersions, *kubeVersion, *dumpValues, *out); err != nil {
		fmt.Fprintln(os.Stderr, "render_chart:", err)
		os.Exit(1)
	}
}

func run(chartDir string, valueFiles, setStrings []string, name, namespace, apiVersions, kubeVersion, dumpValues, out string) error {
	chartData, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	var chart Chart
	if err := yaml.Unmarshal(chartData, &chart); err != nil {
		return fmt.Errorf("Chart.yaml: %v", err)
	}
	if chart.Name == "" || chart.Version == "" {
		return errors.New("Chart.yaml: name and version are required")
	}
	values, err := readValues(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, f := range valueFiles {
		v, err := readValues(f)
		if err != nil {
			return err
		}
		values = coalesce(values, v)
	}
	for _, s := range setStrings {
		if err := setString(values, s); err != nil {
			return err
		}
	}
	if dumpValues != "" {
		data, _ := json.MarshalIndent(values, "", "  ")
		if err := os.WriteFile(dumpValues, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	files, err := loadFiles(chartDir)
	if err != nil {
		return err
	}

	// Every template and partial, named CHART/templates/PATH as Helm names them.
	r := &renderer{chart: chart.Name}
	r.tmpl = template.New(chart.Name).Option("missingkey=zero")
	r.tmpl.Funcs(r.funcs())
	var names []string
	err = walk(chartDir, "templates", func(rel string, data []byte) {
		n := chart.Name + "/" + rel
		if _, perr := r.tmpl.New(n).Parse(string(data)); perr != nil && err == nil {
			err = perr
		}
		names = append(names, n)
	})
	if err != nil {
		return err
	}
	sort.Strings(names)

	kv := KubeVersion{Version: kubeVersion}
	if parts := strings.SplitN(strings.TrimPrefix(kubeVersion, "v"), ".", 3); len(parts) >= 2 {
		kv.Major, kv.Minor = parts[0], parts[1]
	}
	versions := VersionSet{"v1", "apps/v1", "batch/v1", "policy/v1", "networking.k8s.io/v1",
		"rbac.authorization.k8s.io/v1", "autoscaling/v2", "storage.k8s.io/v1"}
	for _, v := range strings.Split(apiVersions, ",") {
		if v = strings.TrimSpace(v); v != "" {
			versions = append(versions, v)
		}
	}
	top := map[string]interface{}{
		"Values": values,
		"Chart":  chart,
		"Release": Release{Name: name, Namespace: namespace, Service: "Helm", IsInstall: true,
			Revision: 1},
		"Capabilities": Capabilities{KubeVersion: kv, APIVersions: versions,
			HelmVersion: map[string]string{"Version": "v3.14.0"}},
		"Files": files,
	}

	var doc bytes.Buffer
	for _, n := range names {
		base := path.Base(n)
		if strings.HasPrefix(base, "_") || !(strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, ".tpl")) {
			continue
		}
		if strings.HasSuffix(base, ".tpl") {
			continue
		}
		vals := map[string]interface{}{}
		for k, v := range top {
			vals[k] = v
		}
		vals["Template"] = map[string]string{"Name": n, "BasePath": chart.Name + "/templates"}
		var buf bytes.Buffer
		if err := r.tmpl.ExecuteTemplate(&buf, n, vals); err != nil {
			return err
		}
		// As Helm: one manifest per YAML document, each trimmed, empty ones dropped.
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		for _, m := range docSep.Split("\n"+text, -1) {
			if m = strings.TrimSpace(m); m != "" {
				fmt.Fprintf(&doc, "---\n# Source: %s\n%s\n", n, m)
			}
		}
	}
	if out == "" {
		_, err = os.Stdout.Write(doc.Bytes())
		return err
	}
	return os.WriteFile(out, doc.Bytes(), 0o644)
}
