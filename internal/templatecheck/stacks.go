package templatecheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Stack is one parameter combination of the template as CloudFormation sees it: conditions decided,
// translated by aws-sam-translator (Globals merged, AutoPublishAlias versions, policies and events
// expanded), parameter references replaced by the stack's values.
type Stack struct {
	Name      string
	Region    string
	Resources map[string]Resource
	Outputs   map[string]any
}

// RenderStacks runs stacks.py (beside this file) on templateFile for every combination in stacksFile
// and every deploy environment of samconfigFile (none when empty), and reads the translated templates. It needs python3 with cfn-lint and aws-sam-translator; the
// error says so when they are missing. A combination that fails the template's Rules is an error too.
func RenderStacks(root, templateFile, stacksFile, samconfigFile, outDir string) ([]Stack, error) {
	script := filepath.Join(root, "internal", "templatecheck", "stacks.py")
	args := []string{script, "--template", templateFile, "--stacks", stacksFile, "--out", outDir}
	if samconfigFile != "" {
		args = append(args, "--samconfig", samconfigFile)
	}
	cmd := exec.Command("python3", args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("render the stacks with %s: %v\n%s", script, err, strings.TrimSpace(stderr.String()))
	}
	files, err := filepath.Glob(filepath.Join(outDir, "*.json"))
	if err != nil {
		return nil, err
	}
	var stacks []Stack
	for _, f := range files {
		if strings.HasSuffix(f, ".sam.json") {
			continue
		}
		s, err := readStack(f)
		if err != nil {
			return nil, err
		}
		stacks = append(stacks, s)
	}
	sort.Slice(stacks, func(i, j int) bool { return stacks[i].Name < stacks[j].Name })
	if len(stacks) == 0 {
		return nil, fmt.Errorf("%s rendered no stack from %s", script, stacksFile)
	}
	return stacks, nil
}

func readStack(file string) (Stack, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Stack{}, err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return Stack{}, fmt.Errorf("%s: %w", file, err)
	}
	meta := mapping(doc["SwitchyardStack"])
	s := Stack{Resources: map[string]Resource{}, Outputs: mapping(doc["Outputs"])}
	s.Name, _ = meta["name"].(string)
	s.Region, _ = meta["region"].(string)
	for id, raw := range mapping(doc["Resources"]) {
		m := mapping(raw)
		typ, _ := m["Type"].(string)
		s.Resources[id] = Resource{Type: typ, Properties: mapping(m["Properties"]), Metadata: mapping(m["Metadata"]), Raw: m}
	}
	return s, nil
}

// OfType lists the logical IDs of the stack's resources of type typ, sorted.
func (s Stack) OfType(typ string) []string {
	var ids []string
	for id, r := range s.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

var (
	repoOnce   sync.Once
	repoStacks []Stack
	repoErr    error
)

// RepoStacks renders the repository's template.yaml for internal/templatecheck/stacks.json and
// samconfig.toml, once per process (rendering takes seconds).
func RepoStacks(root string) ([]Stack, error) {
	repoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "switchyard-stacks-")
		if err != nil {
			repoErr = err
			return
		}
		defer os.RemoveAll(dir)
		repoStacks, repoErr = RenderStacks(root, filepath.Join(root, "template.yaml"),
			filepath.Join(root, "internal", "templatecheck", "stacks.json"), filepath.Join(root, "samconfig.toml"), dir)
	})
	return repoStacks, repoErr
}

// MissingSAMTools says what to install when python3 cannot import cfn-lint and the SAM translator,
// which RenderStacks needs; nil when they are there.
func MissingSAMTools() error {
	if err := exec.Command("python3", "-c", "import cfnlint, samtranslator").Run(); err != nil {
		return fmt.Errorf("python3 with cfn-lint 1.51 and aws-sam-translator 1.110 is needed "+
			"(pip install cfn-lint==1.51.0 aws-sam-translator==1.110.0): %v", err)
	}
	return nil
}
