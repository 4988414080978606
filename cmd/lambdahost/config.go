package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
	"github.com/switchyard-dr/switchyard/internal/local/lambdahost"
)

// configEnv names the overrides file when -config is not given, so `make run` and `make invoke`
// can use one without changing their command lines.
const configEnv = "LAMBDAHOST_CONFIG"

// overrides is the local configuration file's shape (documented in doc.go).
type overrides struct {
	Region    string                      `json:"region"`
	AccountID string                      `json:"accountId"`
	Functions map[string]functionOverride `json:"functions"`
}

type functionOverride struct {
	Binary      string            `json:"binary"`
	Env         map[string]string `json:"env"`
	Timeout     string            `json:"timeout"`
	MemoryMB    int               `json:"memoryMB"`
	Concurrency int               `json:"concurrency"`
}

// envFlags collects repeated -env KEY=VALUE flags.
type envFlags map[string]string

func (e envFlags) String() string { return strings.Join(slices.Sorted(maps.Keys(e)), ",") }

func (e envFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	e[k] = val
	return nil
}

// source says where functions come from: the flags every subcommand shares.
type source struct {
	template, binDir, config string
	env                      envFlags
}

func (s *source) register(fs *flag.FlagSet) {
	root, _ := devtools.Root()
	fs.StringVar(&s.template, "template", filepath.Join(root, "template.yaml"), "SAM template the functions and routes come from")
	fs.StringVar(&s.binDir, "bin", filepath.Join(root, ".build", "local"), "directory of <function>/bootstrap binaries (make build-local)")
	fs.StringVar(&s.config, "config", os.Getenv(configEnv), "local overrides `file` (JSON; format: go doc ./cmd/lambdahost); default $"+configEnv)
	s.env = envFlags{}
	fs.Var(s.env, "env", "KEY=VALUE environment variable for every function run (repeatable)")
}

// load returns the host configuration for the named functions (all template functions if none
// are named). Environment variables come from, lowest precedence first: the template, the
// command's defaults, the overrides file, the -env flags.
func (s *source) load(defaults map[string]string, names ...string) (lambdahost.Config, error) {
	fns, err := lambdahost.TemplateFunctions(s.template, s.binDir)
	if err != nil {
		return lambdahost.Config{}, err
	}
	for i := range fns {
		if fns[i].Env == nil {
			fns[i].Env = map[string]string{}
		}
		maps.Copy(fns[i].Env, defaults)
	}
	var ov overrides
	if s.config != "" {
		if ov, err = readOverrides(s.config); err != nil {
			return lambdahost.Config{}, err
		}
	}
	byName := map[string]*lambdahost.Function{}
	for i := range fns {
		byName[fns[i].Name] = &fns[i]
	}
	for name, o := range ov.Functions {
		f, ok := byName[name]
		if !ok {
			return lambdahost.Config{}, fmt.Errorf("%s: function %q is not in %s (functions: %s)", s.config, name, s.template, strings.Join(slices.Sorted(maps.Keys(byName)), ", "))
		}
		if err := o.apply(f); err != nil {
			return lambdahost.Config{}, fmt.Errorf("%s: function %s: %w", s.config, name, err)
		}
	}
	var picked []lambdahost.Function
	if len(names) == 0 {
		picked = fns
	}
	for _, n := range names {
		f, ok := byName[n]
		if !ok {
			return lambdahost.Config{}, fmt.Errorf("no function %q in %s (functions: %s)", n, s.template, strings.Join(slices.Sorted(maps.Keys(byName)), ", "))
		}
		picked = append(picked, *f)
	}
	for i := range picked {
		maps.Copy(picked[i].Env, s.env)
	}
	return lambdahost.Config{Region: ov.Region, AccountID: ov.AccountID, Functions: picked}, nil
}

func readOverrides(file string) (overrides, error) {
	var ov overrides
	b, err := os.ReadFile(file)
	if err != nil {
		return ov, fmt.Errorf("read overrides: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ov); err != nil {
		return ov, fmt.Errorf("%s: %w (the format is in `go doc ./cmd/lambdahost`)", file, err)
	}
	return ov, nil
}

func (o functionOverride) apply(f *lambdahost.Function) error {
	if o.Binary != "" {
		f.Binary = o.Binary
	}
	if o.Timeout != "" {
		d, err := time.ParseDuration(o.Timeout)
		if err != nil || d <= 0 {
			return errors.New(`timeout: want a positive Go duration such as "8s"`)
		}
		f.Timeout = d
	}
	if o.MemoryMB < 0 || o.Concurrency < 0 {
		return errors.New("memoryMB and concurrency must not be negative")
	}
	if o.MemoryMB > 0 {
		f.MemoryMB = o.MemoryMB
	}
	if o.Concurrency > 0 {
		f.Concurrency = o.Concurrency
	}
	maps.Copy(f.Env, o.Env)
	return nil
}
